/**
 * Boots the orders worker: the outbox relay that sends the orders events (order.placed.v1, order.confirmed.v1, order.cancelled.v1). Started as its own process beside the
 * subgraph (`npm start`, one Deployment in Kubernetes); several instances may run.
 */
import { createWorkerRuntime } from "@ecom/events";
import { createLogger, createMetrics } from "@ecom/observability";
import { runUntilSignal } from "@ecom/service";
import { createDatabase } from "./datasources/prisma.ts";
import { loadWorkerEnv } from "./env.ts";

const env = loadWorkerEnv();
const logger = createLogger({ service: "orders-worker", level: env.LOG_LEVEL, pretty: env.NODE_ENV === "development" });
const metrics = createMetrics({ service: "orders-worker" });
const db = createDatabase(env.DATABASE_URL, {
  applicationName: "orders-worker",
  onQuery: () => metrics.dbStatements.inc(),
  onPoolError: (err) => logger.warn({ err }, "idle database connection failed"),
});

const runtime = createWorkerRuntime({ service: "orders", env, logger, metrics, db });
runtime.relay();
const { url } = await runtime.start();
logger.info({ url }, "orders worker ready");
runUntilSignal(
  async () => {
    await runtime.stop();
    await db.close();
  },
  { logger },
);
