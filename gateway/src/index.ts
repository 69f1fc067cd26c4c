/** Boots the gateway: env -> deps -> server -> listen -> graceful shutdown. */
import { createTokenVerifier } from "@ecom/auth";
import { createLogger, createMetrics } from "@ecom/observability";
import { runUntilSignal } from "@ecom/service";
import { Redis } from "ioredis";
import { loadEnv, subgraphUrlOverrides } from "./env.ts";
import { createResponseCachePlugin } from "./plugins/response-cache.ts";
import { createGatewayServer } from "./server.ts";
import { readSupergraph } from "./supergraph.ts";

const env = loadEnv();
const logger = createLogger({ service: "gateway", level: env.LOG_LEVEL, pretty: env.NODE_ENV === "development" });
const metrics = createMetrics({ service: "gateway" });
const verifyToken = createTokenVerifier({ jwksUrl: env.JWKS_URL }, { issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE });

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
const { url } = await server.listen(env.PORT, env.HOST);
logger.info({ url, subgraphs: Object.fromEntries(server.subgraphs.map((s) => [s.name, s.url])) }, "gateway ready");
runUntilSignal(
  async () => {
    await server.stop();
    cacheRedis?.disconnect();
  },
  { logger },
);
