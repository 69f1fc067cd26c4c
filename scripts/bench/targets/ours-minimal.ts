/**
 * Bench target (b): this gateway with the optional plugins off (no observability plugin, none of the extra
 * plugins the boot file adds), everything else as gateway/src/index.ts builds it: the same call path, the same
 * environment. Authentication stays: it makes the identity the subgraphs receive.
 */
import { createTokenVerifier } from "@ecom/auth";
import { createLogger, createMetrics } from "@ecom/observability";
import { runUntilSignal } from "@ecom/service";
import { loadEnv, subgraphUrlOverrides } from "../../../gateway/src/env.ts";
import { createGatewayServer } from "../../../gateway/src/server.ts";
import { readSupergraph } from "../../../gateway/src/supergraph.ts";

const env = loadEnv();
const logger = createLogger({ service: "gateway", level: env.LOG_LEVEL });
const server = await createGatewayServer({
  env,
  logger,
  metrics: createMetrics({ service: "gateway" }),
  supergraphSdl: readSupergraph(env.SUPERGRAPH_PATH),
  subgraphUrls: subgraphUrlOverrides(env),
  verifyToken: createTokenVerifier({ jwksUrl: env.JWKS_URL }, { issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE }),
  builtinPlugins: false,
});
const { url } = await server.listen(env.PORT, env.HOST);
logger.info({ url }, "gateway ready");
runUntilSignal(() => server.stop(), { logger });
