/**
 * Boots the payments worker: the outbox relay that sends the payments events (payment.captured.v1, payment.declined.v1, payment.refunded.v1). Started as its own process beside the
 * subgraph (`npm start`, one Deployment in Kubernetes); several instances may run.
 */
import { createWorkerRuntime } from "@ecom/events";
import { createLogger, createMetrics } from "@ecom/observability";
import { runUntilSignal } from "@ecom/service";
import { createDatabase } from "./datasources/prisma.ts";
import { loadWorkerEnv } from "./env.ts";

const env = loadWorkerEnv();
const logger = createLogger({ service: "payments-worker", level: env.LOG_LEVEL, pretty: env.NODE_ENV === "development" });
const metrics = createMetrics({ service: "payments-worker" });
const db = createDatabase(env.DATABASE_URL, {
  applicationName: "payments-worker",
  onQuery: () => metrics.dbStatements.inc(),
  onPoolError: (err) => logger.warn({ err }, "idle database connection failed"),
});

const runtime = createWorkerRuntime({ service: "payments", env, logger, metrics, db });
runtime.relay();
const { url } = await runtime.start();
logger.info({ url }, "payments worker ready");
runUntilSignal(
  async () => {
    await runtime.stop();
    await db.close();
  },
  { logger },
);
