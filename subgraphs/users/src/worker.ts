/**
 * Boots the users worker: the outbox relay that sends the users events (user.registered.v1). Started as its own process beside the
 * subgraph (`npm start`, one Deployment in Kubernetes); several instances may run.
 */
import { createWorkerRuntime } from "@ecom/events";
import { createLogger, createMetrics } from "@ecom/observability";
import { runUntilSignal } from "@ecom/service";
import { createDatabase } from "./datasources/prisma.ts";
import { loadWorkerEnv } from "./env.ts";

const env = loadWorkerEnv();
const logger = createLogger({ service: "users-worker", level: env.LOG_LEVEL, pretty: env.NODE_ENV === "development" });
const metrics = createMetrics({ service: "users-worker" });
const db = createDatabase(env.DATABASE_URL, {
  applicationName: "users-worker",
  onQuery: () => metrics.dbStatements.inc(),
  onPoolError: (err) => logger.warn({ err }, "idle database connection failed"),
});

const runtime = createWorkerRuntime({ service: "users", env, logger, metrics, db });
runtime.relay();
const { url } = await runtime.start();
logger.info({ url }, "users worker ready");
runUntilSignal(
  async () => {
    await runtime.stop();
    await db.close();
  },
  { logger },
);
