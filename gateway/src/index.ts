/** Boots the gateway: env -> deps -> server -> listen -> graceful shutdown. */
import { createTokenVerifier } from "@ecom/auth";
import { createLogger, createMetrics } from "@ecom/observability";
import { runUntilSignal, shutdownTimings } from "@ecom/service";
import { loadEnv, subgraphUrlOverrides } from "./env.ts";
import { createGatewayServer } from "./server.ts";
import { readSupergraph } from "./supergraph.ts";

const env = loadEnv();
const logger = createLogger({ service: "gateway", level: env.LOG_LEVEL, pretty: env.NODE_ENV === "development" });
const metrics = createMetrics({ service: "gateway" });
const verifyToken = createTokenVerifier({ jwksUrl: env.JWKS_URL }, { issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE });

const server = await createGatewayServer({
  env,
  logger,
  metrics,
  supergraphSdl: readSupergraph(env.SUPERGRAPH_PATH),
  subgraphUrls: subgraphUrlOverrides(env),
  verifyToken,
});
const { url } = await server.listen(env.PORT, env.HOST);
logger.info({ url, subgraphs: Object.fromEntries(server.subgraphs.map((s) => [s.name, s.url])) }, "gateway ready");
runUntilSignal(() => server.stop(), { logger, timeoutMs: shutdownTimings(env).forcedExitMs });
