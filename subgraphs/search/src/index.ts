/** Boots the search subgraph: env -> deps -> server -> listen -> graceful shutdown. */
import { databaseOptionsFromEnv } from "@ecom/db";
import { createLogger, createMetrics } from "@ecom/observability";
import { runUntilSignal, shutdownTimings } from "@ecom/service";
import { createDatabase } from "./datasources/prisma.ts";
import { loadEnv } from "./env.ts";
import { createServer } from "./server.ts";

const env = loadEnv();
const logger = createLogger({ service: "search", level: env.LOG_LEVEL, pretty: env.NODE_ENV === "development" });
const metrics = createMetrics({ service: "search" });
const db = createDatabase(env.DATABASE_URL, { ...databaseOptionsFromEnv(env), onQuery: () => metrics.dbStatements.inc() });

const server = await createServer({ env, logger, metrics, db });
const { url } = await server.listen(env.PORT, env.HOST);
logger.info({ url }, "search subgraph ready");
runUntilSignal(
  async () => {
    await server.stop();
    await db.close();
  },
  { logger, timeoutMs: shutdownTimings(env).forcedExitMs },
);
