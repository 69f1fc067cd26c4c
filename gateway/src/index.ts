/** Boots the gateway: env -> deps -> server -> listen -> graceful shutdown. */
// First: tracing must be set up before anything it instruments is loaded (off unless configured).
import "@ecom/observability/tracing";
import { createTokenVerifier } from "@ecom/auth";
import { createLogger, createMetrics } from "@ecom/observability";
import { runUntilSignal, shutdownTimings } from "@ecom/service";
import { createControlPlane } from "./control-plane.ts";
import { loadEnv, resilienceConfigOf, subgraphUrlOverrides } from "./env.ts";
import { createGatewayServer } from "./server.ts";
import { readSupergraph } from "./supergraph.ts";
import { watchSupergraphFile } from "./supergraph-watcher.ts";

const env = loadEnv();
const logger = createLogger({ service: "gateway", level: env.LOG_LEVEL, pretty: env.NODE_ENV === "development" });
const metrics = createMetrics({ service: "gateway" });
const verifyToken = createTokenVerifier({ jwksUrl: env.JWKS_URL }, { issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE });

const controlPlane = createControlPlane({
  mode: env.DISCOVERY_MODE,
  liveConfig: env.LIVE_CONFIG,
  redisUrl: env.REDIS_URL,
  prefix: env.CONTROL_PLANE_PREFIX,
  baseResilience: resilienceConfigOf(env),
  resyncIntervalMs: env.DISCOVERY_RESYNC,
  logger,
  metrics,
});

const server = await createGatewayServer({
  env,
  logger,
  metrics,
  supergraphSdl: readSupergraph(env.SUPERGRAPH_PATH),
  subgraphUrls: subgraphUrlOverrides(env),
  verifyToken,
  ...(controlPlane.routing ? { routing: controlPlane.routing } : {}),
  extraChecks: controlPlane.checks,
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
  },
  { logger, timeoutMs: shutdownTimings(env).forcedExitMs },
);
