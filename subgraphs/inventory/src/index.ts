/** Boots the inventory subgraph: env -> deps -> server -> listen -> graceful shutdown. */
import { databaseOptionsFromEnv } from "@ecom/db";
import { createLogger, createMetrics } from "@ecom/observability";
import { runUntilSignal, shutdownTimings } from "@ecom/service";
import { createDatabase } from "./datasources/prisma.ts";
import { loadEnv } from "./env.ts";
import { createServer } from "./server.ts";

const env = loadEnv();
const logger = createLogger({ service: "inventory", level: env.LOG_LEVEL, pretty: env.NODE_ENV === "development" });
const metrics = createMetrics({ service: "inventory" });
const db = createDatabase(env.DATABASE_URL, {
  ...databaseOptionsFromEnv(env),
  // db_statements_total on /metrics: a rise per request shows an N+1.
  onQuery: () => metrics.dbStatements.inc(),
  onPoolError: (err) => logger.warn({ err }, "idle database connection failed"),
});

const server = await createServer({ env, logger, metrics, db });
const { url } = await server.listen(env.PORT, env.HOST);
logger.info({ url }, "inventory subgraph ready");
runUntilSignal(
  async () => {
    await server.stop();
    await db.close();
  },
  { logger, timeoutMs: shutdownTimings(env).forcedExitMs },
);
