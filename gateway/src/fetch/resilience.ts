/**
 * The resilience stage: one subgraph's {@link Policy} (deadline, retries under a budget, breaker, bulkhead,
 * per-attempt timeout) around the rest of the call path. The HTTP meaning of an answer is decided here, the
 * mechanics live in @ecom/resilience:
 *
 * - a failure for the breaker: a timeout, a connection error, an HTTP 5xx or 429. A subgraph's GraphQL errors
 *   (200 with `errors`, or a 4xx carrying them) are answers, not failures.
 * - retried: queries only, never mutations; after connection errors, timeouts, 429, 502, 503 and 504 (a 500 is
 *   more often a bug that would fail again); waiting at least the answer's `Retry-After`.
 */
import type { FetcherResponse } from "@apollo/utils.fetcher";
import type { Policy, Verdict } from "@ecom/resilience";
import { connectionErrorCode, isSubgraphUnavailableError, type SubgraphFetch } from "../subgraph-datasource.ts";
import type { SubgraphFetchStage } from "./pipeline.ts";
import { BufferedResponse } from "./transport.ts";

const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);
const OK: Verdict = { ok: true };

/** `Retry-After` in ms: delta-seconds or an HTTP date (RFC 9110 10.2.3); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** What an HTTP answer of a subgraph means to the policy. */
export function judgeResponse(response: FetcherResponse): Verdict {
  const status = response.status;
  if (status < 500 && status !== 429) return OK;
  const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
  return {
    ok: false,
    reason: `HTTP ${status}`,
    retryable: RETRYABLE_STATUSES.has(status),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  };
}

/** What an error of the inner stages means: socket failures count and may be retried; anything else is ours. */
export function judgeError(error: unknown): Verdict {
  const code = connectionErrorCode(error);
  if (code !== undefined) return { ok: false, reason: code, retryable: true };
  if (isSubgraphUnavailableError(error)) return { ok: false, reason: error.reason, retryable: true };
  // A bug or a refusal of an inner stage (e.g. signing): says nothing about the subgraph, and would fail again.
  return { ok: false, reason: error instanceof Error ? error.message : String(error), retryable: false, counts: false };
}

// A failed answer replaced by a retry: nothing to release for a buffered body, but a streaming one (another
// transport's) must be read or its connection stays taken.
const discard = (response: FetcherResponse) => {
  if (response instanceof BufferedResponse || response.bodyUsed) return;
  void response.arrayBuffer().catch(() => {});
};

/** Options of {@link resilienceStage}. */
export interface ResilienceStageOptions {
  /** The subgraph's policy (kept by the PolicyRegistry across supergraph reloads). */
  policy: Policy;
  /** The deadline of a call that carries none (the gateway's own calls): ms from now. */
  defaultDeadlineMs: () => number;
}

/** See the module comment. */
export function resilienceStage({ policy, defaultDeadlineMs }: ResilienceStageOptions): SubgraphFetchStage {
  return (next: SubgraphFetch): SubgraphFetch =>
    (url, init = {}) => {
      const call = init.call;
      return policy.execute((signal) => next(url, { ...init, signal }), {
        retryable: call === undefined || call.operation === "query",
        deadline: call?.deadline ?? Date.now() + defaultDeadlineMs(),
        signal: call?.signal,
        judge: judgeResponse,
        judgeError,
        discard,
      });
    };
}
