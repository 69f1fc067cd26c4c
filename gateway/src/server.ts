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
import { createHttpLifecycle, shutdownTimings } from "@ecom/service";
import type { GatewayContext } from "./context.ts";
import type { Env } from "./env.ts";
import { createAuthPlugin } from "./plugins/auth.ts";
import { createSubgraphDataSource, type SubgraphFetch } from "./subgraph-datasource.ts";
import { createSupergraphControl, subgraphReadinessCheck, type SubgraphEndpoint, type SupergraphControl } from "./supergraph.ts";

/** Everything the gateway is built from; the boot file (index.ts) or a test provides it. */
export interface GatewayServerDeps {
  env: Pick<Env, "NODE_ENV" | "INTERNAL_SECRET" | "SUBGRAPH_TIMEOUT"> & Partial<Pick<Env, "SHUTDOWN_DELAY" | "DRAIN_TIMEOUT">>;
  logger: Logger;
  metrics: Metrics;
  /** The supergraph SDL (`npm run compose` writes gateway/supergraph.graphql). */
  supergraphSdl: string;
  /** URL overrides by subgraph name (SUBGRAPH_<NAME>_URL); others keep the supergraph's URL. */
  subgraphUrls?: Readonly<Record<string, string>>;
  /** Verifies access tokens (createTokenVerifier of @ecom/auth against the users subgraph's JWKS). */
  verifyToken: (token: string) => Promise<Identity>;
  /** Wraps each subgraph's HTTP call (the seam for a circuit breaker). */
  wrapFetch?: (fetch: SubgraphFetch, subgraph: string) => SubgraphFetch;
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
  /** Starts listening; resolves with the URL of `/graphql`. */
  listen(port: number, host?: string): Promise<{ url: string; port: number }>;
  /** Stops accepting requests, drains the ones in flight, stops the gateway. Idempotent. */
  stop(): Promise<void>;
}

/** Builds the gateway (loads the supergraph). Does not listen: call `listen` (the boot file does). */
export async function createGatewayServer(deps: GatewayServerDeps): Promise<GatewayServer> {
  const dev = deps.env.NODE_ENV === "development";
  // SHUTDOWN_DELAY and DRAIN_TIMEOUT: readiness fails first, then in-flight requests finish (packages/service).
  const timings = shutdownTimings(deps.env);
  const app = express();
  app.disable("x-powered-by");
  const httpServer = http.createServer(app);
  let loaded = false;

  const supergraph = createSupergraphControl({
    initialSdl: deps.supergraphSdl,
    ...(deps.subgraphUrls ? { subgraphUrls: deps.subgraphUrls } : {}),
    logger: deps.logger,
    metrics: deps.metrics,
  });
  const auth = createAuthPlugin<GatewayContext>({ verifyToken: deps.verifyToken });
  const gatewayLogger = deps.logger.child({ component: "apollo-gateway" });

  const gateway = new ApolloGateway({
    // A manager rather than a string, so that supergraph.reload() can swap the supergraph while serving.
    supergraphSdl: supergraph.manager,
    logger: {
      debug: (message) => gatewayLogger.debug(String(message)),
      info: (message) => gatewayLogger.info(String(message)),
      warn: (message) => gatewayLogger.warn(String(message)),
      error: (message) => gatewayLogger.error(String(message)),
    },
    buildService: ({ name, url }) =>
      createSubgraphDataSource<GatewayContext>({
        name,
        url: deps.subgraphUrls?.[name] ?? url ?? "",
        internalSecret: deps.env.INTERNAL_SECRET,
        timeoutMs: deps.env.SUBGRAPH_TIMEOUT,
        identityOf: (context) => auth.identityOf(context),
        idsOf: (context) =>
          typeof context["correlationId"] === "string" && context["correlationId"] !== "" ? (context as GatewayContext) : undefined,
        logger: deps.logger,
        ...(deps.wrapFetch ? { wrapFetch: deps.wrapFetch } : {}),
      }),
  });

  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    introspection: deps.env.NODE_ENV !== "production",
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
      createObservabilityPlugin<GatewayContext>({ logger: deps.logger, metrics: deps.metrics }),
      auth,
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
  // Read on every /health/ready: refilled in place when a reload changes the subgraphs.
  const checks: ReadinessCheck[] = [];
  const checkSubgraphsOf = (subgraphs: readonly SubgraphEndpoint[]) =>
    checks.splice(0, checks.length, supergraphCheck, ...subgraphs.map((s) => subgraphReadinessCheck(s, deps.readinessTimeoutMs)));
  checkSubgraphsOf(supergraph.current().subgraphs);
  supergraph.onChange((current) => checkSubgraphsOf(current.subgraphs));
  const handlers = createObservabilityHandlers({
    metrics: deps.metrics,
    checks,
    ...(deps.readinessTimeoutMs === undefined ? {} : { checkTimeoutMs: deps.readinessTimeoutMs }),
    isShuttingDown: lifecycle.isShuttingDown,
  });
  app.use(createRequestMiddleware({ metrics: deps.metrics }));
  for (const [route, handler] of Object.entries(handlers)) app.get(route, handler);
  app.use(
    "/graphql",
    express.json({ limit: deps.bodyLimit ?? "1mb" }),
    expressMiddleware(apollo, {
      context: async () => {
        const ids = currentRequestContext();
        return { requestId: ids?.requestId ?? "", correlationId: ids?.correlationId ?? "" };
      },
    }),
  );

  return {
    app,
    httpServer,
    apollo,
    get subgraphs() {
      return supergraph.current().subgraphs;
    },
    supergraph,
    listen: lifecycle.listen,
    stop: lifecycle.stop,
  };
}
