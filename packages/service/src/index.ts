/**
 * Builds a subgraph's HTTP server the same way for every domain: an Apollo subgraph schema at `/graphql`, the
 * caller's identity (from a signed gateway request, see request-signing.ts) and fresh DataLoaders in the context of each request, coded errors,
 * request ids, `/health/live`, `/health/ready`, `/metrics`, and a graceful stop.
 */
import http from "node:http";
import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { expressMiddleware } from "@as-integrations/express5";
import express, { type Express } from "express";
import { GraphQLError, type DocumentNode } from "graphql";
import type { Identity } from "@ecom/auth";
import { createErrorFormatter } from "@ecom/errors";
import {
  createObservabilityHandlers,
  createObservabilityPlugin,
  createRequestMiddleware,
  currentRequestContext,
  flushLogger,
  shutdownTracing,
  type Logger,
  type Metrics,
  type ReadinessCheck,
} from "@ecom/observability";
import { createHttpLifecycle } from "./http-lifecycle.ts";
import { registerSelf, type SelfRegistrationOptions } from "./self-registration.ts";
import { createOutageHandling, type OutageClassifier } from "./outage.ts";
import { createSignatureGuard, type SubgraphSigningOptions } from "./request-signing.ts";
import { createHttpErrorHandler, graphqlMethodGuard, notFoundHandler } from "./http-errors.ts";
import { createSelfProtection, type LoaderOptions, type SelfProtectionSettings } from "./self-protection.ts";

export { DateTimeScalar } from "./scalars.ts";
export { encodeCursor, decodeCursor, parsePageArgs, toConnection } from "./pagination.ts";
export type { PageArgs, PageArgsOptions, PageRequest } from "./pagination.ts";
export { createEntityClient, EntityClientError, isEntityClientError } from "./entity-client.ts";
export type { EntityClientOptions } from "./entity-client.ts";
export { isUuid, parseInput, UUID_PATTERN } from "./validation.ts";
export { createHttpLifecycle } from "./http-lifecycle.ts";
export { createHttpErrorHandler, graphqlMethodGuard, notFoundHandler } from "./http-errors.ts";
export {
  createSelfProtection,
  selfProtectionFromEnv,
  DEFAULT_MAX_BATCH_SIZE,
  DEFAULT_MAX_RESULT_BYTES,
  DEFAULT_MAX_RESULT_VALUES,
} from "./self-protection.ts";
export type { LoaderOptions, SelfProtection, SelfProtectionEnv, SelfProtectionSettings } from "./self-protection.ts";
export type { HttpLifecycle, HttpLifecycleOptions } from "./http-lifecycle.ts";
export type { InputProblem } from "./validation.ts";
export { commonSubgraphOptions, loadTypeDefs, registrationFromEnv, signingFromEnv } from "./subgraph-deps.ts";
export type { SigningEnvFields } from "./subgraph-deps.ts";
export {
  createOutageHandling,
  dependencyOutageOf,
  DependencyUnavailableError,
  isDependencyUnavailableError,
  postgresOutage,
  redisOutage,
  DEFAULT_OUTAGE_CLASSIFIERS,
} from "./outage.ts";
export type { DependencyOutage, OutageClassifier, OutageHandling, OutageHandlingOptions } from "./outage.ts";
export { FORCED_EXIT_MARGIN_MS, shutdownTimings } from "./shutdown.ts";
export type { ShutdownTimings } from "./shutdown.ts";
export type { SubgraphDeps } from "./subgraph-deps.ts";
export { advertisedUrl } from "./self-registration.ts";
export { createSignatureGuard } from "./request-signing.ts";
export type { SignatureGuard, SubgraphSigningOptions } from "./request-signing.ts";
export type { SelfRegistrationOptions } from "./self-registration.ts";

/** A resolver map (codegen's `Resolvers` type of each subgraph is one). */
export type ResolverMap = object;

/** What every subgraph resolver receives as context. */
export interface SubgraphContext<TLoaders = unknown> {
  /** The user the gateway vouches for, or null when anonymous (and for service-to-service calls). */
  identity: Identity | null;
  /** Who signed the request: `gateway`, or the calling service (e.g. `orders` asking products for prices). */
  caller?: string;
  /** Per-request DataLoaders (never shared between requests, so no data leaks across users). */
  loaders: TLoaders;
  /** Logger bound to this request. */
  logger: Logger;
  requestId: string;
  correlationId: string;
}

/** Options of {@link createSubgraphServer}. */
export interface SubgraphServerOptions<TLoaders> {
  /** Subgraph name, e.g. `users`. */
  name: string;
  typeDefs: DocumentNode;
  resolvers: ResolverMap;
  logger: Logger;
  metrics: Metrics;
  /** Dependencies `/health/ready` checks (database, Redis...). */
  checks: ReadinessCheck[];
  /**
   * Signed requests only (keys, window, replay check): every `/graphql` request must be signed, anonymous ones
   * included; identity headers are trusted only inside a valid signature from the gateway.
   */
  signing: SubgraphSigningOptions;
  /**
   * Builds the DataLoaders of one request; spread `loaderOptions` into each (`maxBatchSize`: one statement never
   * carries more than DATALOADER_MAX_BATCH keys).
   */
  createLoaders: (identity: Identity | null, loaderOptions: LoaderOptions) => TLoaders;
  /**
   * Development mode: stack traces in errors, the Apollo landing page, introspection.
   * @default false
   */
  development?: boolean;
  /** Mounts extra routes (e.g. a JWKS document) before the GraphQL endpoint. */
  routes?: (app: Express) => void;
  /** Extra Apollo plugins. */
  plugins?: ApolloServerPlugin<SubgraphContext<TLoaders>>[];
  /**
   * Largest accepted request body (overrides `protection.bodyLimit`).
   * @default "1mb"
   */
  bodyLimit?: string;
  /**
   * Query limits, execution budget, DataLoader batch bound, body and header sizes (self-protection.ts;
   * `selfProtectionFromEnv(env)`, which commonSubgraphOptions passes).
   * @default the subgraph defaults of @ecom/limits and self-protection.ts
   */
  protection?: SelfProtectionSettings;
  /** Called on stop, after the HTTP server closed (close pools, queues...). */
  onStop?: () => Promise<void>;
  /**
   * On stop, how long to keep serving with `/health/ready` answering 503 before closing the listener, so load
   * balancers (Kubernetes endpoints, the gateway's health checks) stop sending traffic first. Use the readiness
   * probe's period plus a margin in production.
   * @default 0
   */
  shutdownDelayMs?: number;
  /**
   * How long in-flight requests may take to finish once the listener is closed; then their connections are
   * destroyed. Keep `shutdownDelayMs + drainTimeoutMs` below the process's stop timeout (`runUntilSignal`).
   * @default 10000
   */
  drainTimeoutMs?: number;
  /**
   * Registry mode of service discovery: once listening, the instance registers itself (URL, schema version,
   * release, tags) with a TTL heartbeat; stopping deregisters it before anything else, and then keeps serving for
   * `shutdownDelayMs` (500 by default here) while the gateway takes it out of rotation.
   * @default not registered (static mode: the gateway is given the URL)
   */
  registration?: SelfRegistrationOptions;
  /**
   * Recognise dependency outages: an error one of these claims makes the response HTTP 503 with `Retry-After`
   * and SUBGRAPH_UNAVAILABLE (see outage.ts).
   * @default DEFAULT_OUTAGE_CLASSIFIERS (DependencyUnavailableError, Redis, Postgres)
   */
  outageClassifiers?: readonly OutageClassifier[];
}

/** A built subgraph server, not yet listening. */
export interface SubgraphServer {
  app: Express;
  httpServer: http.Server;
  apollo: ApolloServer<SubgraphContext<never>>;
  /** Starts listening; resolves with the URL of `/graphql`. */
  listen(port: number, host?: string): Promise<{ url: string; port: number }>;
  /**
   * Stops: `/health/ready` answers 503 at once (and for `shutdownDelayMs` the server keeps serving), then the
   * listener closes, in-flight requests finish (up to `drainTimeoutMs`), then `onStop` runs. Idempotent.
   */
  stop(): Promise<void>;
}

/** Builds the HTTP server of a subgraph. Does not listen: call `listen` (the boot file does). */
export async function createSubgraphServer<TLoaders>(options: SubgraphServerOptions<TLoaders>): Promise<SubgraphServer> {
  const app = express();
  app.disable("x-powered-by");
  const protection = options.protection ?? {};
  const httpServer = http.createServer({ maxHeaderSize: protection.maxHeaderBytes ?? 16_384 }, app);
  const dev = options.development ?? false;
  const guard = createSelfProtection<SubgraphContext<TLoaders>>(protection, options.metrics.registry, options.logger);
  const outages = createOutageHandling<SubgraphContext<TLoaders>>({
    name: options.name,
    logger: options.logger,
    metrics: options.metrics,
    ...(options.outageClassifiers ? { classifiers: options.outageClassifiers } : {}),
  });
  const signatures = createSignatureGuard<SubgraphContext<TLoaders>>(options.name, options.signing, options);

  const apollo = new ApolloServer<SubgraphContext<TLoaders>>({
    schema: buildSubgraphSchema([{ typeDefs: options.typeDefs, resolvers: options.resolvers as never }]),
    // The supergraph is composed from the SDL files (and `_service { sdl }`), never by introspection.
    introspection: dev,
    csrfPrevention: true,
    validationRules: guard.validationRules,
    // Signals are handled by runUntilSignal (one orderly stop for server, pools and queues); Apollo's own
    // handler would race it and re-raise the signal.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: dev,
    // An unreachable database or Redis: 503 SUBGRAPH_UNAVAILABLE, never INTERNAL_SERVER_ERROR with the driver's text.
    formatError: outages.formatError(
      createErrorFormatter({
        exposeInternals: dev,
        onInternalError: (error) => options.logger.error({ err: error }, "unexpected error in resolver"),
      }),
    ),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: options.drainTimeoutMs ?? 10_000 }),
      // Federated tracing (ftv1) only serves Apollo Studio; it costs on every request, so it is off.
      ApolloServerPluginInlineTraceDisabled(),
      createObservabilityPlugin({ logger: options.logger, metrics: options.metrics }),
      outages.plugin,
      signatures.plugin,
      // Limits before execution, then the execution budget while it runs.
      ...guard.plugins,
      ...(dev ? [] : [ApolloServerPluginLandingPageDisabled()]),
      ...(options.plugins ?? []),
    ],
  });
  // Registered: the gateway learns of the deregistration within milliseconds; a short delay lets the calls it
  // had already routed here arrive and finish.
  const shutdownDelayMs = options.shutdownDelayMs ?? (options.registration ? 500 : undefined);
  const lifecycle = createHttpLifecycle({
    httpServer,
    apollo,
    ...(shutdownDelayMs === undefined ? {} : { shutdownDelayMs }),
    onStop: async () => {
      await options.onStop?.();
      await signatures.close();
    },
  });
  await apollo.start();

  const handlers = createObservabilityHandlers({
    metrics: options.metrics,
    checks: options.checks,
    isShuttingDown: lifecycle.isShuttingDown,
  });
  app.use(createRequestMiddleware({ metrics: options.metrics }));
  for (const [path, handler] of Object.entries(handlers)) app.get(path, handler);
  options.routes?.(app);
  app.use(
    "/graphql",
    graphqlMethodGuard,
    // Signature first (an unsigned request is refused before its body is read), then the body, then its HMAC,
    // then the limits.
    signatures.checkHeaders,
    express.json({ limit: options.bodyLimit ?? protection.bodyLimit ?? "1mb", verify: signatures.captureDigest }),
    signatures.checkSignature,
    guard.guard,
    expressMiddleware(apollo, {
      context: async ({ req }) => {
        const verified = signatures.verifiedOf(req);
        // checkSignature answered 401 otherwise; this guards against a route order change.
        if (!verified) throw new GraphQLError("Unsigned request.", { extensions: { code: "UNAUTHENTICATED", http: { status: 401 } } });
        const identity = verified.identity;
        const ctx = currentRequestContext();
        const context = {
          identity,
          caller: verified.caller,
          loaders: options.createLoaders(identity, guard.loaderOptions),
          logger: options.logger.child({ subgraph: options.name }),
          requestId: ctx?.requestId ?? "",
          correlationId: ctx?.correlationId ?? "",
        };
        return signatures.bind(context, verified);
      },
    }),
  );
  app.use(notFoundHandler);
  app.use(createHttpErrorHandler(options.logger));

  let deregister: (() => Promise<void>) | undefined;
  let stopping: Promise<void> | undefined;
  return {
    app,
    httpServer,
    apollo: apollo as unknown as ApolloServer<SubgraphContext<never>>,
    async listen(port, host) {
      const listening = await lifecycle.listen(port, host);
      if (options.registration) {
        deregister = await registerSelf(
          options.name,
          options.typeDefs,
          options.registration,
          { host: host ?? "0.0.0.0", port: listening.port },
          options.logger,
        );
      }
      return listening;
    },
    stop() {
      stopping ??= (async () => {
        await deregister?.();
        await lifecycle.stop();
      })();
      return stopping;
    },
  };
}

/** Options of {@link runUntilSignal}. */
export interface RunUntilSignalOptions {
  logger: Logger;
  /**
   * Grace period before a forced exit: longer than the drain (`shutdownTimings(env).forcedExitMs`).
   * @default 15000
   */
  timeoutMs?: number;
}

/**
 * Calls `stop` on SIGINT/SIGTERM, then exits 0; exits 1 if stopping takes longer than `timeoutMs` or fails.
 * Used by boot files so every process shuts down the same way.
 */
export function runUntilSignal(stop: () => Promise<void>, options: RunUntilSignalOptions): void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    options.logger.info({ signal }, "shutting down");
    // Not unref'd: a stop that hangs on a promise holding no handle would otherwise let the process drain and
    // exit 0 as if it had stopped cleanly. Success exits explicitly, so this never delays a clean stop.
    setTimeout(() => {
      options.logger.error("graceful shutdown timed out; exiting");
      flushThenExit(options.logger, 1);
    }, options.timeoutMs ?? 15_000);
    stop().then(
      () => {
        options.logger.info("stopped");
        flushThenExit(options.logger, 0);
      },
      (error: unknown) => {
        options.logger.error({ err: error }, "error while stopping");
        flushThenExit(options.logger, 1);
      },
    );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}

/** Exits once the spans still buffered are exported (bounded) and the logger wrote its last lines (see `flushLogger`). */
function flushThenExit(logger: Logger, code: number): void {
  void shutdownTracing()
    .then(() => flushLogger(logger))
    .then(() => process.exit(code));
}
