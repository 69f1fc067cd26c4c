/**
 * The gateway's HTTP server: Apollo Gateway over the supergraph at `/graphql` (Apollo Sandbox in development),
 * `/health/live`, `/health/ready`, `/metrics`, and a graceful stop. Built here, started by index.ts.
 */
import http from "node:http";
import { ApolloGateway } from "@apollo/gateway";
import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { ApolloServerPluginLandingPageLocalDefault } from "@apollo/server/plugin/landingPage/default";
import { expressMiddleware } from "@as-integrations/express5";
import express, { type Express } from "express";
import type { Identity } from "@ecom/auth";
import { createErrorFormatter } from "@ecom/errors";
import {
  createObservabilityHandlers,
  createObservabilityPlugin,
  createRequestMiddleware,
  currentRequestContext,
  type Logger,
  type Metrics,
  type ReadinessCheck,
} from "@ecom/observability";
import { GATEWAY_LIMIT_DEFAULTS, type QueryLimitsInput } from "@ecom/limits";
import { createHttpErrorHandler, createHttpLifecycle, graphqlMethodGuard, notFoundHandler, shutdownTimings } from "@ecom/service";
import type { GatewayContext } from "./context.ts";
import { resilienceConfigOf, type Env } from "./env.ts";
import type { InstanceRouting } from "./fetch/balancer.ts";
import { SubgraphCallPath, type SubgraphFetchStage } from "./fetch/pipeline.ts";
import { createSigning } from "./fetch/sign.ts";
import { applyHttpHygiene, type HttpHygieneOptions } from "./http-hygiene.ts";
import { createAuthPlugin } from "./plugins/auth.ts";
import { createRateLimitPlugin, type GatewayRateLimit } from "./plugins/rate-limit.ts";
import { createLimitsPlugin, type LimitsPlugin } from "./plugins/limits.ts";
import { createSubgraphHealth, type SubgraphHealth } from "./readiness.ts";
import { createQueryPlanCache } from "./query-plan-cache.ts";
import { createSubgraphDataSource, type SubgraphFetch } from "./subgraph-datasource.ts";
import { createSupergraphControl, subgraphReadinessCheck, type SubgraphEndpoint, type SupergraphControl } from "./supergraph.ts";

/** Everything the gateway is built from; the boot file (index.ts) or a test provides it. */
export interface GatewayServerDeps {
  env: Pick<Env, "NODE_ENV" | "SIGNING_KEYS" | "SUBGRAPH_TIMEOUT"> &
    Partial<
      Pick<
        Env,
        "SHUTDOWN_DELAY" | "DRAIN_TIMEOUT" | "REQUEST_DEADLINE" | "RESILIENCE_CONFIG" | "SUBGRAPH_CONNECTIONS" | "QUERY_PLAN_CACHE_MIB"
      >
    > &
    Partial<Pick<Env, "TRUST_PROXY">>;
  logger: Logger;
  metrics: Metrics;
  /** The supergraph SDL (`npm run compose` writes gateway/supergraph.graphql). */
  supergraphSdl: string;
  /** URL overrides by subgraph name (SUBGRAPH_<NAME>_URL); others keep the supergraph's URL. */
  subgraphUrls?: Readonly<Record<string, string>>;
  /** Verifies access tokens (createTokenVerifier of @ecom/auth against the users subgraph's JWKS). */
  verifyToken: (token: string) => Promise<Identity>;
  /**
   * The subgraph call path (dedup, resilience, signing, undici pools: gateway/src/fetch/). Pass one to keep
   * breakers and pools across gateway instances; the gateway then leaves closing it to the caller.
   * @default one built from `env` (SUBGRAPH_TIMEOUT, REQUEST_DEADLINE, RESILIENCE_CONFIG, SUBGRAPH_CONNECTIONS)
   */
  callPath?: SubgraphCallPath;
  /**
   * The request-signing stage of each subgraph's calls, placed inside the retries. Used only when the gateway
   * builds the call path itself.
   * @default createSigning({ masterKeys: env.SIGNING_KEYS }) (gateway/src/fetch/sign.ts)
   */
  signing?: (subgraph: string) => SubgraphFetchStage | undefined;
  /**
   * Registry mode: the instance choice of each call (balancing, outlier ejection, canary). A subgraph then counts
   * as ready while it has a healthy registered instance (or its configured URL answers).
   * @default none (static mode: each subgraph's configured URL)
   */
  routing?: InstanceRouting;
  /** More readiness checks (e.g. the registry's, non-critical). @default [] */
  extraChecks?: readonly ReadinessCheck[];
  /** Wraps each subgraph's whole call path, outermost (tests inject faults here). */
  wrapFetch?: (fetch: SubgraphFetch, subgraph: string) => SubgraphFetch;
  /**
   * The optional built-in plugins (observability: operation logs and metrics). Off only for the benchmark's
   * "plugins off" baseline; authentication always runs (it makes the identity the subgraphs receive).
   * @default true
   */
  builtinPlugins?: boolean;
  /**
   * Rate limiting (gateway/src/plugins/rate-limit.ts: createGatewayRateLimit), checked after authentication and
   * before any other plugin's answer (the response cache's).
   * @default none
   */
  rateLimit?: GatewayRateLimit;
  /** Extra Apollo plugins, run after the built-in ones. */
  plugins?: ApolloServerPlugin<GatewayContext>[];
  /**
   * Timeout of each readiness check of `/health/ready`.
   * @default 2000
   */
  readinessTimeoutMs?: number;
  /**
   * Largest accepted request body.
   * @default "1mb"
   */
  bodyLimit?: string;
  /**
   * Largest accepted request head (request line and headers), in bytes; larger is answered 431 by Node.
   * @default 16384
   */
  maxHeaderBytes?: number;
  /**
   * The query limits (`limitsFromEnv(env, GATEWAY_LIMIT_DEFAULTS)`); `server.limits.update()` changes them live.
   * @default GATEWAY_LIMIT_DEFAULTS
   */
  limits?: Partial<QueryLimitsInput>;
  /** CORS allow-list and `trust proxy` (gateway/src/http-hygiene.ts). @default no origin allowed, no proxy trusted */
  hygiene?: Omit<HttpHygieneOptions, "development">;
  /**
   * Period of the background subgraph health checks reported by `/health/ready` and in metrics.
   * @default 5000
   */
  subgraphHealthIntervalMs?: number;
}

/** A built gateway, not yet listening. */
export interface GatewayServer {
  app: Express;
  httpServer: http.Server;
  apollo: ApolloServer<GatewayContext>;
  /** The subgraphs of the supergraph being served and the URLs the gateway calls them at. */
  readonly subgraphs: readonly SubgraphEndpoint[];
  /** The supergraph being served; `supergraph.reload(sdl)` swaps a new one in (the file watcher calls it). */
  supergraph: SupergraphControl;
  /** Policies (breaker states, live settings with `callPath.policies.update()`) and pools of the subgraph calls. */
  callPath: SubgraphCallPath;
  /** The query limits in force; `limits.update()` replaces them live, `limits.costOf()` weighs a request. */
  limits: LimitsPlugin;
  /** The background health checks of the subgraphs (`refresh()` runs them now). */
  subgraphHealth: SubgraphHealth;
  /** Starts listening; resolves with the URL of `/graphql`. */
  listen(port: number, host?: string): Promise<{ url: string; port: number }>;
  /** Stops accepting requests, drains the ones in flight, stops the gateway. Idempotent. */
  stop(): Promise<void>;
}

/** `x-canary: always` pins a request to the canary side of every canary split, `never` to the stable side. */
export function canaryPinOf(header: string | string[] | undefined): "canary" | "stable" | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim().toLowerCase();
  return value === "always" ? "canary" : value === "never" ? "stable" : undefined;
}

/** Registry mode: ready while a registered instance is healthy; else (and in static mode) the URL must answer. */
function subgraphCheckOf(subgraph: SubgraphEndpoint, routing: InstanceRouting | undefined, timeoutMs: number | undefined): ReadinessCheck {
  const byUrl = subgraphReadinessCheck(subgraph, timeoutMs);
  if (!routing) return byUrl;
  return {
    name: byUrl.name,
    check: async () => {
      if (routing.healthyInstances(subgraph.name) > 0) return;
      await byUrl.check();
    },
  };
}

/** Builds the gateway (loads the supergraph). Does not listen: call `listen` (the boot file does). */
export async function createGatewayServer(deps: GatewayServerDeps): Promise<GatewayServer> {
  const dev = deps.env.NODE_ENV === "development";
  // SHUTDOWN_DELAY and DRAIN_TIMEOUT: readiness fails first, then in-flight requests finish (packages/service).
  const timings = shutdownTimings(deps.env);
  const app = express();
  // express hashes (SHA-1) every response body it sends into an ETag, for conditional GETs. GraphQL answers are
  // POSTs nobody revalidates (the optional response cache has its own keys), so that was a hash of every answer
  // for nothing.
  app.set("etag", false);
  const corsMiddleware = applyHttpHygiene(app, {
    development: dev,
    ...deps.hygiene,
    // The client address (req.ip) is read through these proxies only (TRUST_PROXY); rate limits key on it.
    trustProxy: deps.hygiene?.trustProxy ?? deps.env.TRUST_PROXY ?? false,
  });
  const httpServer = http.createServer({ maxHeaderSize: deps.maxHeaderBytes ?? 16_384 }, app);
  let loaded = false;
  const limits = createLimitsPlugin({
    limits: { ...GATEWAY_LIMIT_DEFAULTS, ...deps.limits, ignoreIntrospection: dev },
    registry: deps.metrics.registry,
    logger: deps.logger,
  });

  const supergraph = createSupergraphControl({
    initialSdl: deps.supergraphSdl,
    ...(deps.subgraphUrls ? { subgraphUrls: deps.subgraphUrls } : {}),
    logger: deps.logger,
    metrics: deps.metrics,
  });
  const auth = createAuthPlugin<GatewayContext>({ verifyToken: deps.verifyToken });
  const gatewayLogger = deps.logger.child({ component: "apollo-gateway" });
  const ownCallPath = deps.callPath === undefined;
  const callPath =
    deps.callPath ??
    new SubgraphCallPath({
      config: resilienceConfigOf({
        SUBGRAPH_TIMEOUT: deps.env.SUBGRAPH_TIMEOUT,
        REQUEST_DEADLINE: deps.env.REQUEST_DEADLINE ?? 10_000,
        RESILIENCE_CONFIG: deps.env.RESILIENCE_CONFIG,
      }),
      logger: deps.logger,
      registry: deps.metrics.registry,
      signing: deps.signing ?? createSigning({ masterKeys: deps.env.SIGNING_KEYS }),
      ...(deps.routing ? { routing: (subgraph: string) => deps.routing!.stage(subgraph) } : {}),
      transportOptions: { connections: deps.env.SUBGRAPH_CONNECTIONS ?? 128 },
    });

  const gateway = new ApolloGateway({
    // A manager rather than a string, so that supergraph.reload() can swap the supergraph while serving.
    supergraphSdl: supergraph.manager,
    logger: {
      debug: (message) => gatewayLogger.debug(String(message)),
      info: (message) => gatewayLogger.info(String(message)),
      warn: (message) => gatewayLogger.warn(String(message)),
      error: (message) => gatewayLogger.error(String(message)),
    },
    // The stock plan cache, with its bound from QUERY_PLAN_CACHE_MIB and hits and misses on /metrics.
    queryPlannerConfig: { cache: createQueryPlanCache({ maxMiB: deps.env.QUERY_PLAN_CACHE_MIB ?? 30, registry: deps.metrics.registry }) },
    buildService: ({ name, url }) =>
      createSubgraphDataSource<GatewayContext>({
        name,
        url: deps.subgraphUrls?.[name] ?? url ?? "",
        identityOf: (context) => auth.identityOf(context),
        idsOf: (context) =>
          typeof context["correlationId"] === "string" && context["correlationId"] !== "" ? (context as GatewayContext) : undefined,
        clientOf: (context) => context as GatewayContext,
        breakerState: () => callPath.breakerState(name),
        logger: deps.logger,
        fetch: callPath.fetchFor(name),
        ...(deps.wrapFetch ? { wrapFetch: deps.wrapFetch } : {}),
      }),
  });

  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    // Introspection and Sandbox in development only; CSRF prevention is on (Apollo's default, see http-hygiene.ts).
    introspection: dev,
    csrfPrevention: true,
    // A subscription (the supergraph has none) is GRAPHQL_VALIDATION_FAILED, not the executor's 500.
    validationRules: limits.validationRules,
    // Signals are handled by runUntilSignal; Apollo's own handler (on outside NODE_ENV=test) races it and the
    // drain then never finishes.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: dev,
    // Subgraph codes (BAD_USER_INPUT, FORBIDDEN...) and SUBGRAPH_UNAVAILABLE pass through; anything else is
    // INTERNAL_SERVER_ERROR with a generic message (logged here with its details).
    formatError: createErrorFormatter({
      exposeInternals: dev,
      onInternalError: (error) => deps.logger.error({ err: error }, "unexpected error in the gateway"),
    }),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: timings.drainTimeoutMs }),
      dev ? ApolloServerPluginLandingPageLocalDefault({ embed: true }) : ApolloServerPluginLandingPageDisabled(),
      ...(deps.builtinPlugins === false ? [] : [createObservabilityPlugin<GatewayContext>({ logger: deps.logger, metrics: deps.metrics })]),
      // Before any subgraph call: the limits run in didResolveOperation, ahead of the planner and the executor.
      limits,
      auth,
      ...(deps.rateLimit
        ? [
            createRateLimitPlugin<GatewayContext>({
              limit: deps.rateLimit,
              identityOf: (context) => auth.identityOf(context),
              clientIpOf: (context) => context.clientIp,
              costOf: (requestContext) => limits.costOf(requestContext),
              metrics: deps.metrics,
              logger: deps.logger,
            }),
          ]
        : []),
      ...(deps.plugins ?? []),
    ],
  });
  // Stopping drains in-flight requests (DrainHttpServer), then stops the gateway.
  const lifecycle = createHttpLifecycle({ httpServer, apollo, shutdownDelayMs: timings.shutdownDelayMs });
  await apollo.start();
  loaded = true;

  const supergraphCheck: ReadinessCheck = {
    name: "supergraph",
    check: async () => {
      if (!loaded) throw new Error("supergraph not loaded");
    },
  };
  // Ready = the supergraph is loaded (gateway/src/readiness.ts); subgraphs are reported from background checks.
  const checks: ReadinessCheck[] = [supergraphCheck, ...(deps.extraChecks ?? [])];
  const subgraphHealth = createSubgraphHealth({
    metrics: deps.metrics,
    logger: deps.logger,
    ...(deps.subgraphHealthIntervalMs === undefined ? {} : { intervalMs: deps.subgraphHealthIntervalMs }),
    ...(deps.readinessTimeoutMs === undefined ? {} : { timeoutMs: deps.readinessTimeoutMs }),
  });
  const checkSubgraphsOf = (subgraphs: readonly SubgraphEndpoint[]) =>
    subgraphHealth.setChecks(subgraphs.map((s) => subgraphCheckOf(s, deps.routing, deps.readinessTimeoutMs)));
  checkSubgraphsOf(supergraph.current().subgraphs);
  supergraph.onChange((current) => checkSubgraphsOf(current.subgraphs));
  subgraphHealth.start();
  const handlers = createObservabilityHandlers({
    metrics: deps.metrics,
    checks,
    dependencies: subgraphHealth,
    ...(deps.readinessTimeoutMs === undefined ? {} : { checkTimeoutMs: deps.readinessTimeoutMs }),
    isShuttingDown: lifecycle.isShuttingDown,
  });
  app.use(createRequestMiddleware({ metrics: deps.metrics }));
  for (const [route, handler] of Object.entries(handlers)) app.get(route, handler);
  app.use(
    "/graphql",
    corsMiddleware,
    graphqlMethodGuard,
    express.json({ limit: deps.bodyLimit ?? "1mb" }),
    limits.guard,
    expressMiddleware(apollo, {
      context: async ({ req, res }) => {
        const ids = currentRequestContext();
        // A client that closes its connection before the answer cancels the request's subgraph calls.
        const client = new AbortController();
        res.once("close", () => {
          if (!res.writableFinished) client.abort(new Error("client disconnected"));
        });
        return {
          requestId: ids?.requestId ?? "",
          correlationId: ids?.correlationId ?? "",
          deadline: Date.now() + callPath.deadlineMs,
          signal: client.signal,
          canary: canaryPinOf(req.headers["x-canary"]),
          clientIp: req.ip,
        };
      },
    }),
  );
  app.use(notFoundHandler);
  app.use(createHttpErrorHandler(deps.logger));

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      subgraphHealth.stop();
      await lifecycle.stop();
      if (ownCallPath) await callPath.close();
    })());
  return {
    app,
    httpServer,
    apollo,
    get subgraphs() {
      return supergraph.current().subgraphs;
    },
    supergraph,
    callPath,
    limits,
    subgraphHealth,
    listen: lifecycle.listen,
    stop,
  };
}
