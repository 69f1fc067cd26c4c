/**
 * Dependency outages as first-class answers: when a subgraph's database or Redis cannot be reached, the subgraph
 * answers HTTP 503 with `Retry-After` and a coded, retryable error (`SUBGRAPH_UNAVAILABLE`, the code the client
 * sees through the gateway either way), never INTERNAL_SERVER_ERROR with a driver's message. The gateway counts a
 * 503 like any other unavailable subgraph (its breaker, its SUBGRAPH_UNAVAILABLE for that subgraph's fields).
 *
 * Nothing is retried here: a write that failed this way was not committed (Postgres rolls back a transaction
 * whose connection is gone), so the client may retry it, and idempotent mutations (placeOrder's key) make that safe.
 */
import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import type { GraphQLFormattedError } from "graphql";
// The subpath, not the index: the index loads pg, which processes without a database (the gateway) must not ship.
import { postgresOutageReason } from "@ecom/db/outage";
import { ErrorCode } from "@ecom/errors";
import type { Logger, Metrics } from "@ecom/observability";
import { Counter } from "prom-client";

/** A dependency outage: which dependency, and why (for logs and `extensions.reason`). */
export interface DependencyOutage {
  /** `postgres`, `redis`, or what a {@link DependencyUnavailableError} names. */
  dependency: string;
  reason: string;
}

/**
 * Thrown by code that finds a dependency unavailable itself (a Redis-backed rate limiter or nonce store, a
 * queue...): the subgraph answers it as a 503 like a database outage.
 */
export class DependencyUnavailableError extends Error {
  readonly brand = "DependencyUnavailableError" as const;
  constructor(
    readonly dependency: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${dependency} is unavailable: ${reason}`, options);
  }
}

/** True when `error` is a {@link DependencyUnavailableError}, also across module copies. */
export const isDependencyUnavailableError = (error: unknown): error is DependencyUnavailableError =>
  (error as { brand?: unknown } | null)?.brand === "DependencyUnavailableError";

/** Recognises one dependency's outage errors. */
export type OutageClassifier = (error: unknown) => DependencyOutage | undefined;

/** Postgres through Prisma or pg (see `postgresOutageReason` of @ecom/db for the shapes). */
export const postgresOutage: OutageClassifier = (error) => {
  const reason = postgresOutageReason(error);
  return reason === undefined ? undefined : { dependency: "postgres", reason };
};

/** ioredis errors of a server that is down, restarting or read-only (replies are server errors, not outages). */
const REDIS_UNAVAILABLE_REPLIES = /^(LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|READONLY|BUSY)\b/;
const REDIS_UNAVAILABLE_MESSAGES = [
  "Connection is closed.",
  "Stream isn't writeable and enableOfflineQueue options is false",
  "Reached the max retries per request limit",
];

/**
 * Redis through ioredis, recognised by its error shapes (no ioredis import: the subgraph kit does not need the
 * client to recognise its errors). A client used on a request path should fail fast rather than queue commands
 * while disconnected: `enableOfflineQueue: false`, or a small `maxRetriesPerRequest`; either way the errors are these.
 */
export const redisOutage: OutageClassifier = (error) => {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth++) {
    const { name, message } = current as { name?: unknown; message?: unknown };
    const text = typeof message === "string" ? message : "";
    if (name === "MaxRetriesPerRequestError") return { dependency: "redis", reason: "max retries per request" };
    if (REDIS_UNAVAILABLE_MESSAGES.some((m) => text.startsWith(m))) return { dependency: "redis", reason: text };
    if (name === "ReplyError" && REDIS_UNAVAILABLE_REPLIES.test(text)) return { dependency: "redis", reason: text.split(" ")[0]! };
    const next = current as { originalError?: unknown; cause?: unknown };
    current = next.originalError ?? next.cause;
  }
  return undefined;
};

/** What a subgraph recognises by default: its own {@link DependencyUnavailableError}s, Redis, Postgres. */
export const DEFAULT_OUTAGE_CLASSIFIERS: readonly OutageClassifier[] = [redisOutage, postgresOutage];

/** The outage `error` (or what it wraps) reports, if it is one. */
export function dependencyOutageOf(
  error: unknown,
  classifiers: readonly OutageClassifier[] = DEFAULT_OUTAGE_CLASSIFIERS,
): DependencyOutage | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth++) {
    if (isDependencyUnavailableError(current)) return { dependency: current.dependency, reason: current.reason };
    const next = current as { originalError?: unknown; cause?: unknown };
    current = next.originalError ?? next.cause;
  }
  for (const classify of classifiers) {
    const outage = classify(error);
    if (outage) return outage;
  }
  return undefined;
}

/** Options of {@link createOutageHandling}. */
export interface OutageHandlingOptions {
  /** Subgraph name, in messages (`The users service is unavailable right now...`). */
  name: string;
  logger: Logger;
  metrics: Metrics;
  /** @default DEFAULT_OUTAGE_CLASSIFIERS */
  classifiers?: readonly OutageClassifier[];
  /**
   * `Retry-After` of a 503, in seconds.
   * @default 1
   */
  retryAfterSeconds?: number;
  /**
   * At most one log line per dependency per this many milliseconds (with the count refused since the last one):
   * an outage under load would otherwise write a line per request.
   * @default 5000
   */
  logEveryMs?: number;
}

/** The two halves of outage handling a subgraph server plugs in. */
export interface OutageHandling<TContext extends BaseContext> {
  /** Wraps the server's `formatError`: an outage error becomes SUBGRAPH_UNAVAILABLE with a safe message. */
  formatError(
    next: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError,
  ): (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  /** Makes a response that carries an outage error HTTP 503 with `Retry-After`, counts and logs it. */
  plugin: ApolloServerPlugin<TContext>;
}

/**
 * Outage handling of one subgraph server. A response with at least one outage error is a 503 as a whole: the
 * gateway then treats the subgraph as unavailable for that fetch (its breaker counts it, the client gets
 * SUBGRAPH_UNAVAILABLE naming the subgraph), which is what a subgraph without its database is.
 */
export function createOutageHandling<TContext extends BaseContext>(options: OutageHandlingOptions): OutageHandling<TContext> {
  const classifiers = options.classifiers ?? DEFAULT_OUTAGE_CLASSIFIERS;
  const retryAfter = String(options.retryAfterSeconds ?? 1);
  const logEveryMs = options.logEveryMs ?? 5000;
  const refused = new Counter({
    name: "subgraph_dependency_unavailable_total",
    help: "Responses answered 503 because a dependency (postgres, redis...) was unavailable.",
    labelNames: ["dependency"],
    registers: [options.metrics.registry],
  });
  const lastLogged = new Map<string, { at: number; suppressed: number }>();
  // Per request: the outage its errors reported (Apollo gives each request its own contextValue).
  const outages = new WeakMap<object, DependencyOutage>();

  const report = (outage: DependencyOutage) => {
    refused.inc({ dependency: outage.dependency });
    const now = Date.now();
    const last = lastLogged.get(outage.dependency);
    if (last && now - last.at < logEveryMs) {
      last.suppressed += 1;
      return;
    }
    lastLogged.set(outage.dependency, { at: now, suppressed: 0 });
    options.logger.warn(
      { dependency: outage.dependency, reason: outage.reason, refusedSinceLastLine: last?.suppressed ?? 0 },
      `${outage.dependency} unavailable: answering 503`,
    );
  };

  return {
    formatError: (next) => (formatted, error) => {
      const outage = dependencyOutageOf(error, classifiers);
      if (!outage) return next(formatted, error);
      return {
        message: `The ${options.name} service is unavailable right now (${outage.dependency}): try again later.`,
        ...(formatted.locations ? { locations: formatted.locations } : {}),
        ...(formatted.path ? { path: formatted.path } : {}),
        extensions: { code: ErrorCode.SUBGRAPH_UNAVAILABLE, serviceName: options.name, dependency: outage.dependency, retryable: true },
      };
    },
    plugin: {
      async requestDidStart({ contextValue }) {
        return {
          async didEncounterErrors({ errors }) {
            for (const error of errors) {
              const outage = dependencyOutageOf(error, classifiers);
              if (outage) {
                outages.set(contextValue, outage);
                return;
              }
            }
          },
          async willSendResponse({ response }) {
            const outage = outages.get(contextValue);
            if (!outage) return;
            report(outage);
            response.http.status = 503;
            response.http.headers.set("retry-after", retryAfter);
          },
        };
      },
    },
  };
}
