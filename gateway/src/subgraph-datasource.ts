/**
 * How the gateway calls one subgraph: the caller's identity and the correlation id on every request, the call
 * handed to the subgraph call path (gateway/src/fetch/: dedup, resilience, signing, undici transport), and
 * failures turned into GraphQL errors the client can act on.
 *
 * A GraphQLDataSource of its own rather than a subclass of RemoteGraphQLDataSource: that class builds a node-fetch
 * `Headers` and a node-fetch `Request` for every subgraph call (the Request only to pass it to an error hook) and
 * keeps `sendRequest` private, so none of that can be skipped by overriding. What it does that we need (JSON body,
 * status and content-type checks, Cache-Control hints into the overall cache policy) is a few lines here.
 */
import type { GraphQLDataSource, GraphQLDataSourceProcessOptions, RemoteGraphQLDataSource } from "@apollo/gateway";
import type { FetcherRequestInit, FetcherResponse } from "@apollo/utils.fetcher";
import { IDENTITY_HEADERS, SIGNATURE_HEADERS, identityToHeaders, type Identity } from "@ecom/auth";
import { ErrorCode } from "@ecom/errors";
import { CORRELATION_ID_HEADER, REQUEST_ID_HEADER, type Logger } from "@ecom/observability";
import { isBrokenCircuitError, isCancelledError, isResilienceError, type BreakerStateName } from "@ecom/resilience";
import { GraphQLError } from "graphql";

type GatewayGraphQLResponse = Awaited<ReturnType<RemoteGraphQLDataSource["process"]>>;

/** What the subgraph call path knows about one call besides its URL, headers and body. */
export interface SubgraphCall {
  /** Subgraph name as in the supergraph. */
  readonly subgraph: string;
  /** The operation type of this subgraph fetch (the planner's operation text starts with it). */
  readonly operation: "query" | "mutation" | "subscription";
  /**
   * The client's operation is a mutation. Its query fetches (reading the mutation's result) may be retried but are
   * never deduplicated with other requests' fetches, which may have started before the write.
   */
  readonly partOfMutation: boolean;
  /** Clock time (ms) by which the client's request must be answered; absent for the gateway's own calls. */
  readonly deadline?: number | undefined;
  /** Aborts when the client goes away (its connection closed before the answer). */
  readonly signal?: AbortSignal | undefined;
  /** The client pinned its request to one side of a canary split (`x-canary: always` / `never`). */
  readonly canary?: "canary" | "stable" | undefined;
}

/** The init of a subgraph call: a fetch init (method, headers as a plain object, body, signal) and the call. */
export interface SubgraphRequestInit extends FetcherRequestInit {
  /**
   * Set by the data source for every call. A stage that replaces the init must keep it (`{ ...init, headers }`).
   */
  call?: SubgraphCall;
}

/**
 * The HTTP call to a subgraph (fetch-compatible; the data source only reads `ok`, `status`, `headers.get`, `text`
 * and `json`). Each stage of gateway/src/fetch/ is a `(next: SubgraphFetch) => SubgraphFetch`.
 */
export type SubgraphFetch = (url: string, init?: SubgraphRequestInit) => Promise<FetcherResponse>;

/** Options of {@link createSubgraphDataSource}. */
export interface SubgraphDataSourceOptions<TContext extends object> {
  /** Subgraph name as in the supergraph, e.g. `users`. */
  name: string;
  /** Its `/graphql` URL. */
  url: string;
  /** The caller of the request whose context this is (null when anonymous, and for the gateway's own calls). */
  identityOf: (context: TContext | Record<string, unknown>) => Identity | null;
  /** The request and correlation ids of the request whose context this is. */
  idsOf: (context: TContext | Record<string, unknown>) => { requestId: string; correlationId: string } | undefined;
  /**
   * The client request's deadline (clock ms) and the signal that aborts when the client goes away.
   * @default none (the gateway's own calls)
   */
  clientOf?: (
    context: TContext | Record<string, unknown>,
  ) => { deadline?: number; signal?: AbortSignal; canary?: "canary" | "stable" | undefined } | undefined;
  /**
   * The subgraph's breaker state, named in `extensions.breakerState` of SUBGRAPH_UNAVAILABLE errors.
   * @default not named
   */
  breakerState?: () => BreakerStateName;
  logger: Logger;
  /**
   * The call path to the subgraph (gateway/src/fetch/: dedup, resilience, signing, transport).
   * @default globalThis.fetch (no resilience, no pooling: tests only)
   */
  fetch?: SubgraphFetch;
  /**
   * Wraps the call path, outermost: a test's fault injection or an extra guard. A wrapper that rejects with a
   * {@link SubgraphUnavailableError} makes the subgraph's part of the response SUBGRAPH_UNAVAILABLE.
   * @default no wrapping
   */
  wrapFetch?: (fetch: SubgraphFetch, subgraph: string) => SubgraphFetch;
}

/** Raised (or returned by a fetch wrapper) when a subgraph cannot serve a request right now. */
export class SubgraphUnavailableError extends Error {
  readonly brand = "SubgraphUnavailableError" as const;
  constructor(
    readonly subgraph: string,
    /** Short reason for logs and clients: `timeout`, `ECONNREFUSED`, `HTTP 503`, `circuit open`... */
    readonly reason: string,
  ) {
    super(`${subgraph} is unavailable: ${reason}`);
  }
}

/** True when `error` is a {@link SubgraphUnavailableError}, also across module copies. */
export const isSubgraphUnavailableError = (error: unknown): error is SubgraphUnavailableError =>
  (error as { brand?: unknown } | null)?.brand === "SubgraphUnavailableError";

/** A non-2xx answer from a subgraph; `body` is its parsed JSON (or text). */
class SubgraphHttpError extends GraphQLError {
  readonly brand = "SubgraphHttpError" as const;
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}`);
  }
}

const isSubgraphHttpError = (error: unknown): error is SubgraphHttpError =>
  (error as { brand?: unknown } | null)?.brand === "SubgraphHttpError";

// 502/503/504: a proxy or the process itself says it cannot serve now. 429: the subgraph sheds load.
const UNAVAILABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/** The code of a socket-level failure: Node's (`ECONNREFUSED`, `ECONNRESET`...) or undici's (`UND_ERR_SOCKET`...). */
export function connectionErrorCode(error: unknown): string | undefined {
  for (
    let e = error as { code?: unknown; cause?: unknown } | null | undefined, depth = 0;
    e && depth < 3;
    e = e.cause as typeof e, depth++
  ) {
    if (typeof e.code === "string" && /^(E[A-Z0-9_]+|UND_ERR_[A-Z_]+)$/.test(e.code)) return e.code;
  }
  // fetch (undici inside): TypeError("fetch failed") with the socket error as `cause`, sometimes without a code.
  if (error instanceof TypeError && error.message === "fetch failed") return "network error";
  return undefined;
}

/** Why a failed call means the subgraph is unavailable (undefined: it is another kind of failure). */
function unavailableReason(error: unknown): string | undefined {
  if (isResilienceError(error)) return error.reason;
  if (isSubgraphUnavailableError(error)) return error.reason;
  if (isSubgraphHttpError(error)) return UNAVAILABLE_STATUSES.has(error.status) ? `HTTP ${error.status}` : undefined;
  const name = (error as { name?: unknown } | null)?.name;
  if (name === "TimeoutError" || name === "AbortError") return "timeout";
  return connectionErrorCode(error);
}

function hasGraphQLErrors(body: unknown): body is { data?: Record<string, unknown> | null; errors: GatewayGraphQLResponse["errors"] } {
  return typeof body === "object" && body !== null && Array.isArray((body as { errors?: unknown }).errors);
}

function operationOf(query: string): SubgraphCall["operation"] {
  const text = query.trimStart();
  if (text.startsWith("mutation")) return "mutation";
  if (text.startsWith("subscription")) return "subscription";
  return "query";
}

// Set by the gateway alone: never taken from what a request asks for.
const IDENTITY_HEADER_NAMES: ReadonlySet<string> = new Set(
  [...Object.values(IDENTITY_HEADERS), ...Object.values(SIGNATURE_HEADERS)].map((h) => h.toLowerCase()),
);

/** `max-age`, `public` and `private` of a Cache-Control header, as RemoteGraphQLDataSource reads them. */
function cacheHintOf(header: string | null): { maxAge: number; scope?: "PUBLIC" | "PRIVATE" } {
  const hint: { maxAge: number; scope?: "PUBLIC" | "PRIVATE" } = { maxAge: 0 };
  if (!header) return hint;
  for (const part of header.split(",")) {
    const [name, value] = part.trim().toLowerCase().split("=");
    if (name === "max-age" && value !== undefined && /^[0-9]+$/.test(value)) hint.maxAge = Number(value);
    else if (name === "private") hint.scope = "PRIVATE";
    else if (name === "public") hint.scope = "PUBLIC";
  }
  return hint;
}

async function parseBody(response: FetcherResponse): Promise<unknown> {
  const contentType = response.headers.get("content-type");
  if (contentType && (contentType.startsWith("application/json") || contentType.startsWith("application/graphql-response+json"))) {
    return response.json();
  }
  return response.text();
}

/**
 * The data source of one subgraph:
 * - sends the caller's identity (identityToHeaders; signed by the call path), never headers a client sent
 *   (the gateway does not forward client headers at all, and identity headers are set afresh on every call);
 * - sends `x-correlation-id` (and the gateway's `x-request-id`) so one client request can be followed through
 *   every service's logs;
 * - hands the call to the call path with what it needs to decide (operation type, deadline, client signal);
 * - a subgraph that is down, times out, answers 502/503/504/429 or whose breaker is open gives its part of the
 *   response as null with `extensions: { code: SUBGRAPH_UNAVAILABLE, serviceName, reason, breakerState }`, so
 *   other fields still resolve; GraphQL errors a subgraph returns with a non-2xx status pass through with their
 *   codes.
 */
export function createSubgraphDataSource<TContext extends object>(
  options: SubgraphDataSourceOptions<TContext>,
): GraphQLDataSource<TContext & Record<string, unknown>> {
  const base: SubgraphFetch = options.fetch ?? (globalThis.fetch as unknown as SubgraphFetch);
  const fetcher = options.wrapFetch ? options.wrapFetch(base, options.name) : base;
  const logger = options.logger.child({ subgraph: options.name });
  const { name, url } = options;

  function unavailable(reason: string, breakerState: BreakerStateName | undefined): GatewayGraphQLResponse {
    return {
      errors: [
        {
          message: `The ${name} service is unavailable right now: try again later.`,
          extensions: {
            code: ErrorCode.SUBGRAPH_UNAVAILABLE,
            serviceName: name,
            reason,
            ...(breakerState ? { breakerState } : {}),
          },
        },
      ],
    } as GatewayGraphQLResponse;
  }

  return {
    async process(processOptions: GraphQLDataSourceProcessOptions<TContext & Record<string, unknown>>): Promise<GatewayGraphQLResponse> {
      const { request, context } = processOptions;
      if (!request.query) throw new Error("Missing query");

      const headers: Record<string, string> = { "content-type": "application/json" };
      // Headers the gateway itself asks for on this fetch (e.g. the federated trace header of usage reporting).
      if (request.http?.headers) {
        for (const [header, value] of request.http.headers) {
          const lower = header.toLowerCase();
          if (!IDENTITY_HEADER_NAMES.has(lower)) headers[lower] = value;
        }
      }
      // Covered by the signature the call path's signing stage adds (gateway/src/fetch/sign.ts).
      Object.assign(headers, identityToHeaders(options.identityOf(context)));
      const ids = options.idsOf(context);
      if (ids) {
        headers[CORRELATION_ID_HEADER] = ids.correlationId;
        headers[REQUEST_ID_HEADER] = ids.requestId;
      }
      // A client's operation (as opposed to the gateway's own health checks and schema loads).
      const incoming = "incomingRequestContext" in processOptions ? processOptions : undefined;
      const client = options.clientOf?.(context);
      const call: SubgraphCall = {
        subgraph: name,
        operation: operationOf(request.query),
        partOfMutation: incoming?.incomingRequestContext.operation?.operation === "mutation",
        deadline: client?.deadline,
        signal: client?.signal,
        canary: client?.canary,
      };
      const body = JSON.stringify({
        query: request.query,
        variables: request.variables,
        operationName: request.operationName,
        extensions: request.extensions,
      });

      try {
        const response = await fetcher(url, { method: "POST", headers, body, call });
        if (!response.ok) throw new SubgraphHttpError(response.status, await parseBody(response).catch(() => undefined));
        const parsed = await parseBody(response);
        if (typeof parsed !== "object" || parsed === null)
          throw new Error(`Expected JSON response body, but received: ${String(parsed).slice(0, 200)}`);
        const policy = incoming?.incomingRequestContext.overallCachePolicy;
        if (policy && "restrict" in policy) policy.restrict(cacheHintOf(response.headers.get("cache-control")));
        return { ...(parsed as GatewayGraphQLResponse), http: response } as GatewayGraphQLResponse;
      } catch (error) {
        const reason = unavailableReason(error);
        if (reason !== undefined) {
          const breakerState = (isResilienceError(error) ? error.breakerState : undefined) ?? options.breakerState?.();
          // A client that went away reads nothing; an open breaker was logged when it opened and its rejections are
          // counted (gateway_subgraph_rejections_total): a warning per fast failure would flood the log.
          if (isCancelledError(error) || isBrokenCircuitError(error)) logger.debug({ reason, breakerState, url }, "subgraph call not made");
          else logger.warn({ reason, breakerState, url }, "subgraph unavailable");
          return unavailable(reason, breakerState);
        }
        // A coded GraphQL answer with a non-2xx status (e.g. 401 for bad identity headers, 400 for a query the
        // subgraph rejects): its errors go to the client as the subgraph wrote them.
        if (isSubgraphHttpError(error) && hasGraphQLErrors(error.body)) {
          return { ...(error.body.data ? { data: error.body.data } : {}), errors: error.body.errors } as GatewayGraphQLResponse;
        }
        logger.error({ err: error, url }, "subgraph request failed");
        throw error;
      }
    },
  };
}
