/**
 * The outermost stage: identical subgraph fetches in flight at the same time are sent once. Under load many
 * clients ask for the same page of products; each one would otherwise cost the subgraph the same work.
 *
 * Only query fetches of query operations are merged (a mutation's follow-up reads must see the write). The key is
 * the URL, the body (query, variables, operation name) and every header except the per-request ids and trace
 * context: the identity headers (user, role) are part of it, so two users' fetches never merge,
 * whatever a subgraph does with the identity. Headers are read in the order the data source set them, so two
 * fetches of one user always produce the same key.
 */
import { CORRELATION_ID_HEADER, REQUEST_ID_HEADER } from "@ecom/observability";
import { InflightDedup } from "@ecom/resilience";
import type { FetcherResponse } from "@apollo/utils.fetcher";
import type { SubgraphFetch, SubgraphRequestInit } from "../subgraph-datasource.ts";
import type { SubgraphFetchStage } from "./pipeline.ts";

// Different for every request without changing the answer.
const PER_REQUEST_HEADERS: ReadonlySet<string> = new Set([
  REQUEST_ID_HEADER,
  CORRELATION_ID_HEADER,
  "traceparent",
  "tracestate",
  "baggage",
]);

/** The dedup key of a fetch: everything the answer can depend on. */
export function dedupKey(url: string, init: SubgraphRequestInit): string {
  let key = url;
  const headers = init.headers ?? {};
  for (const name in headers) {
    if (!PER_REQUEST_HEADERS.has(name)) key += `\n${name}:${headers[name]}`;
  }
  return `${key}\n\n${typeof init.body === "string" ? init.body : (init.body?.toString("utf8") ?? "")}`;
}

/** Options of {@link dedupStage}. */
export interface DedupStageOptions {
  /** Read on every call, so the live configuration can switch dedup on and off. */
  enabled: () => boolean;
  /** Called when a fetch joined one in flight instead of being sent. */
  onJoin?: () => void;
}

/** See the module comment. */
export function dedupStage(options: DedupStageOptions): SubgraphFetchStage {
  const inflight = new InflightDedup<FetcherResponse>();
  const share = (response: FetcherResponse) => response.clone();
  return (next: SubgraphFetch): SubgraphFetch =>
    (url, init = {}) => {
      const call = init.call;
      if (!call || call.operation !== "query" || call.partOfMutation || !options.enabled()) return next(url, init);
      // The shared fetch runs under the signal of the dedup (aborted once every waiting client is gone), not the
      // first client's: one client disconnecting must not fail the others.
      const { joined, result } = inflight.run(dedupKey(url, init), (signal) => next(url, { ...init, call: { ...call, signal } }), {
        signal: call.signal,
        share,
      });
      if (joined) options.onJoin?.();
      return result;
    };
}
