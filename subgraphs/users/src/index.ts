/** Boots the users subgraph: env -> deps -> server -> listen -> graceful shutdown. */
import { loadSigningKey } from "@ecom/auth";
import { databaseOptionsFromEnv } from "@ecom/db";
import { createLogger, createMetrics } from "@ecom/observability";
import { runUntilSignal, shutdownTimings } from "@ecom/service";
import { createDatabase } from "./datasources/prisma.ts";
import { loadEnv } from "./env.ts";
import { createServer } from "./server.ts";

const env = loadEnv();
const logger = createLogger({ service: "users", level: env.LOG_LEVEL, pretty: env.NODE_ENV === "development" });
const metrics = createMetrics({ service: "users" });
const db = createDatabase(env.DATABASE_URL, { ...databaseOptionsFromEnv(env), onQuery: () => metrics.dbStatements.inc() });
const signingKey = await loadSigningKey(env.JWT_PRIVATE_KEY);
if (signingKey.ephemeral) logger.warn("JWT_PRIVATE_KEY not set: signing with a key generated for this process (development only)");

const server = await createServer({ env, logger, metrics, db, signingKey });
const { url } = await server.listen(env.PORT, env.HOST);
logger.info({ url }, "users subgraph ready");
runUntilSignal(
  async () => {
    await server.stop();
    await db.close();
  },
  { logger, timeoutMs: shutdownTimings(env).forcedExitMs },
);
