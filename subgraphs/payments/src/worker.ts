/**
 * Boots the payments worker: the checkout saga's charge and refund commands (commands.payments) and the outbox relay
 * that sends the payments events (payment.captured.v1, payment.declined.v1, payment.refunded.v1, the saga replies). Started as its own process beside the
 * subgraph (`npm start`, one Deployment in Kubernetes); several instances may run.
 */
import { commandQueueName, createWorkerRuntime, pgDatabase } from "@ecom/events";
import { createLogger, createMetrics } from "@ecom/observability";
import { runUntilSignal } from "@ecom/service";
import { createCheckoutHandlers } from "./consumers/checkout.ts";
import { createDatabase } from "./datasources/prisma.ts";
import { loadWorkerEnv } from "./env.ts";

const env = loadWorkerEnv();
const logger = createLogger({ service: "payments-worker", level: env.LOG_LEVEL, pretty: env.NODE_ENV === "development" });
const metrics = createMetrics({ service: "payments-worker" });
const db = createDatabase(env.DATABASE_URL, {
  applicationName: "payments-worker",
  // One connection per job in hand, the relay's two (its round and LISTEN), and one to spare.
  max: env.WORKER_CONCURRENCY + 3,
  onQuery: () => metrics.dbStatements.inc(),
  onPoolError: (err) => logger.warn({ err }, "idle database connection failed"),
});

const runtime = createWorkerRuntime({ service: "payments", env, logger, metrics, db });
// The charge and refund are raw SQL (datasources/payments.ts): on plain pg transactions of the same pool they skip
// Prisma's interactive-transaction machinery, which cost about six times the CPU of the statements themselves here
// (bench:saga, README).
// One command a transaction, as the other saga participants (ConsumeOptions.maxBatchSize).
runtime.consume(commandQueueName("payments"), pgDatabase(db.pool), createCheckoutHandlers(), { maxBatchSize: 1 });
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
