/**
 * How the gateway calls one subgraph: the caller's identity and the correlation id on every request, a
 * timeout, and failures turned into GraphQL errors the client can act on.
 */
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from "@apollo/gateway";
import { IDENTITY_HEADERS, identityToHeaders, type Identity } from "@ecom/auth";
import { ErrorCode } from "@ecom/errors";
import { GraphQLError } from "graphql";
import { CORRELATION_ID_HEADER, REQUEST_ID_HEADER, type Logger } from "@ecom/observability";

type GatewayGraphQLResponse = Awaited<ReturnType<RemoteGraphQLDataSource["process"]>>;

/** The HTTP call to a subgraph (fetch-compatible): the seam where a circuit breaker or retry policy wraps in. */
export type SubgraphFetch = RemoteGraphQLDataSource["fetcher"];

/** Options of {@link createSubgraphDataSource}. */
export interface SubgraphDataSourceOptions<TContext extends object> {
  /** Subgraph name as in the supergraph, e.g. `users`. */
  name: string;
  /** Its `/graphql` URL. */
  url: string;
  /** Sent as `x-internal-secret`: subgraphs trust identity headers only with it. */
  internalSecret: string;
  /**
   * Longest wait for one subgraph request (connect, headers and body); slower is SUBGRAPH_UNAVAILABLE.
   * @default 5000
   */
  timeoutMs?: number;
  /** The caller of the request whose context this is (null when anonymous, and for the gateway's own calls). */
  identityOf: (context: TContext | Record<string, unknown>) => Identity | null;
  /** The request and correlation ids of the request whose context this is. */
  idsOf: (context: TContext | Record<string, unknown>) => { requestId: string; correlationId: string } | undefined;
  logger: Logger;
  /**
   * Wraps the subgraph's HTTP call, e.g. with a circuit breaker. A wrapper that rejects (say, breaker open)
   * makes the subgraph's part of the response SUBGRAPH_UNAVAILABLE when its error is a
   * {@link SubgraphUnavailableError}; any other rejection is treated like a network failure.
   * @default no wrapping
   */
  wrapFetch?: (fetch: SubgraphFetch, subgraph: string) => SubgraphFetch;
  /**
   * The underlying fetch (tests inject one).
   * @default globalThis.fetch
   */
  fetch?: SubgraphFetch;
}

/** Raised (or returned by a fetch wrapper) when a subgraph cannot serve a request right now. */
export class SubgraphUnavailableError extends Error {
  readonly brand = "SubgraphUnavailableError" as const;
  constructor(
    readonly subgraph: string,
    /** Short reason for logs: `timeout`, `connection refused`, `HTTP 503`, `circuit open`... */
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

/** Why a failed call means the subgraph is unavailable (undefined: it is another kind of failure). */
function unavailableReason(error: unknown): string | undefined {
  if (isSubgraphUnavailableError(error)) return error.reason;
  if (isSubgraphHttpError(error)) return UNAVAILABLE_STATUSES.has(error.status) ? `HTTP ${error.status}` : undefined;
  const name = (error as { name?: unknown } | null)?.name;
  if (name === "TimeoutError" || name === "AbortError") return "timeout";
  // undici: TypeError("fetch failed") with the socket error as `cause` (ECONNREFUSED, ECONNRESET, ENOTFOUND...).
  if (error instanceof TypeError && error.message === "fetch failed") {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ?? cause?.message ?? "network error";
  }
  return undefined;
}

function hasGraphQLErrors(body: unknown): body is { data?: Record<string, unknown> | null; errors: GatewayGraphQLResponse["errors"] } {
  return typeof body === "object" && body !== null && Array.isArray((body as { errors?: unknown }).errors);
}

/**
 * A RemoteGraphQLDataSource for one subgraph:
 * - sends the caller's identity with the internal secret (identityToHeaders), never headers a client sent
 *   (the gateway does not forward client headers at all, and identity headers are reset on every request);
 * - sends `x-correlation-id` (and the gateway's `x-request-id`) so one client request can be followed through
 *   every service's logs;
 * - aborts after `timeoutMs` (AbortSignal.timeout on the fetch);
 * - a subgraph that is down, times out or answers 502/503/504/429 gives its part of the response as null with
 *   an error `extensions.code = SUBGRAPH_UNAVAILABLE` (the gateway adds `serviceName`), so other fields still
 *   resolve; GraphQL errors a subgraph returns with a non-2xx status pass through with their codes.
 */
export function createSubgraphDataSource<TContext extends object>(
  options: SubgraphDataSourceOptions<TContext>,
): RemoteGraphQLDataSource<TContext> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const base = options.fetch ?? (globalThis.fetch as unknown as SubgraphFetch);
  const timed: SubgraphFetch = (url, init) => base(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  const fetcher = options.wrapFetch ? options.wrapFetch(timed, options.name) : timed;
  const logger = options.logger.child({ subgraph: options.name });

  class SubgraphDataSource extends RemoteGraphQLDataSource<TContext> {
    override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<TContext>): void {
      const headers = request.http!.headers;
      for (const name of Object.values(IDENTITY_HEADERS)) headers.delete(name);
      for (const [name, value] of Object.entries(identityToHeaders(options.identityOf(context), options.internalSecret)))
        headers.set(name, value);
      const ids = options.idsOf(context);
      if (ids) {
        headers.set(CORRELATION_ID_HEADER, ids.correlationId);
        headers.set(REQUEST_ID_HEADER, ids.requestId);
      }
    }

    override async errorFromResponse(response: Parameters<RemoteGraphQLDataSource["errorFromResponse"]>[0]): Promise<SubgraphHttpError> {
      const body = await this.parseBody(response).catch(() => undefined);
      return new SubgraphHttpError(response.status, body);
    }

    override async process(processOptions: GraphQLDataSourceProcessOptions<TContext>): Promise<GatewayGraphQLResponse> {
      try {
        return await super.process(processOptions);
      } catch (error) {
        const reason = unavailableReason(error);
        if (reason !== undefined) {
          logger.warn({ reason, url: options.url }, "subgraph unavailable");
          return {
            errors: [
              {
                message: `The ${options.name} service is unavailable right now: try again later.`,
                extensions: { code: ErrorCode.SUBGRAPH_UNAVAILABLE, serviceName: options.name },
              },
            ],
          };
        }
        // A coded GraphQL answer with a non-2xx status (e.g. 401 for bad identity headers, 400 for a query the
        // subgraph rejects): its errors go to the client as the subgraph wrote them.
        if (isSubgraphHttpError(error) && hasGraphQLErrors(error.body)) {
          return { ...(error.body.data ? { data: error.body.data } : {}), errors: error.body.errors };
        }
        logger.error({ err: error, url: options.url }, "subgraph request failed");
        throw error;
      }
    }
  }

  return new SubgraphDataSource({ url: options.url, fetcher });
}
