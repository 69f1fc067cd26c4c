/** Boots the gateway: env -> deps -> server -> listen -> graceful shutdown. */
// First: tracing must be set up before anything it instruments is loaded (off unless configured).
import "@ecom/observability/tracing";
import { createTokenVerifier } from "@ecom/auth";
import { GATEWAY_LIMIT_DEFAULTS, limitsFromEnv } from "@ecom/limits";
import { createLogger, createMetrics } from "@ecom/observability";
import { runUntilSignal, shutdownTimings } from "@ecom/service";
import { Redis } from "ioredis";
import { createControlPlane } from "./control-plane.ts";
import { loadEnv, resilienceConfigOf, subgraphUrlOverrides } from "./env.ts";
import { createGatewayRateLimit } from "./plugins/rate-limit.ts";
import { createResponseCachePlugin } from "./plugins/response-cache.ts";
import { createGatewayServer } from "./server.ts";
import { readSupergraph } from "./supergraph.ts";
import { watchSupergraphFile } from "./supergraph-watcher.ts";

const env = loadEnv();
const logger = createLogger({ service: "gateway", level: env.LOG_LEVEL, pretty: env.NODE_ENV === "development" });
const metrics = createMetrics({ service: "gateway" });
const verifyToken = createTokenVerifier(
  { jwksUrl: env.JWKS_URL },
  { issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE },
  { clockToleranceSeconds: env.JWT_CLOCK_SKEW / 1000 },
);

// Rate limiting: counters in Redis shared by every instance (or this one's memory), rules live-configurable.
const rateLimit = env.RATE_LIMIT
  ? createGatewayRateLimit({
      redisUrl: env.RATE_LIMIT_STORE === "redis" ? env.REDIS_URL : undefined,
      prefix: env.RATE_LIMIT_PREFIX ?? `${env.CONTROL_PLANE_PREFIX}ratelimit:`,
      rules: env.RATE_LIMIT_RULES,
      onRedisDown: env.RATE_LIMIT_REDIS_DOWN,
      logger,
      registry: metrics.registry,
    })
  : undefined;

const controlPlane = createControlPlane({
  mode: env.DISCOVERY_MODE,
  liveConfig: env.LIVE_CONFIG,
  redisUrl: env.REDIS_URL,
  prefix: env.CONTROL_PLANE_PREFIX,
  baseResilience: resilienceConfigOf(env),
  resyncIntervalMs: env.DISCOVERY_RESYNC,
  rateLimit: rateLimit && { limiter: rateLimit.limiter, rules: env.RATE_LIMIT_RULES, onRedisDown: env.RATE_LIMIT_REDIS_DOWN },
  logger,
  metrics,
});

// The optional whole-response cache: a Redis that is down or slow makes requests misses, never errors.
const cacheRedis = env.RESPONSE_CACHE
  ? new Redis(env.REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 100, lazyConnect: false })
  : undefined;
cacheRedis?.on("error", (error) => logger.debug({ err: error }, "response cache: Redis unavailable"));

const server = await createGatewayServer({
  env,
  logger,
  metrics,
  supergraphSdl: readSupergraph(env.SUPERGRAPH_PATH),
  subgraphUrls: subgraphUrlOverrides(env),
  verifyToken,
  ...(controlPlane.routing ? { routing: controlPlane.routing } : {}),
  extraChecks: controlPlane.checks,
  ...(rateLimit ? { rateLimit } : {}),
  limits: limitsFromEnv(env, GATEWAY_LIMIT_DEFAULTS),
  ...(env.HTTP_BODY_LIMIT === undefined ? {} : { bodyLimit: env.HTTP_BODY_LIMIT }),
  ...(env.HTTP_MAX_HEADER_BYTES === undefined ? {} : { maxHeaderBytes: env.HTTP_MAX_HEADER_BYTES }),
  hygiene: { corsOrigins: env.CORS_ORIGINS, corsCredentials: env.CORS_CREDENTIALS, trustProxy: env.TRUST_PROXY },
  subgraphHealthIntervalMs: env.SUBGRAPH_HEALTH_INTERVAL,
  plugins: cacheRedis
    ? [
        createResponseCachePlugin({
          redis: cacheRedis,
          logger,
          registry: metrics.registry,
          keyPrefix: env.RESPONSE_CACHE_PREFIX,
          ...(env.RESPONSE_CACHE_HINTS ? { hints: env.RESPONSE_CACHE_HINTS } : {}),
        }),
      ]
    : [],
});
await controlPlane.start(server);
const { url } = await server.listen(env.PORT, env.HOST);
logger.info({ url, subgraphs: Object.fromEntries(server.subgraphs.map((s) => [s.name, s.url])) }, "gateway ready");
const watcher = env.SUPERGRAPH_WATCH
  ? watchSupergraphFile({ file: env.SUPERGRAPH_PATH, reload: server.supergraph.reload, logger, intervalMs: env.SUPERGRAPH_WATCH_INTERVAL })
  : undefined;
runUntilSignal(
  async () => {
    watcher?.close();
    await server.stop();
    await controlPlane.close();
    cacheRedis?.disconnect();
    rateLimit?.close();
  },
  { logger, timeoutMs: shutdownTimings(env).forcedExitMs },
);
