/**
 * Boots the orders worker: the checkout saga's orchestrator (it consumes the participants' replies on
 * events.orders, and a BullMQ job scheduler acts on passed deadlines) and the outbox relay that sends the orders
 * events and the saga's commands. Started as its own process beside the subgraph (`npm start`, one Deployment in
 * Kubernetes); several instances may run (saga rows are changed under their row lock).
 */
import { createWorkerRuntime, eventQueueName, pgDatabase } from "@ecom/events";
import { createLogger, createMetrics } from "@ecom/observability";
import { createSagaTimer } from "@ecom/saga";
import { runUntilSignal } from "@ecom/service";
import { createDatabase } from "./datasources/prisma.ts";
import { loadWorkerEnv } from "./env.ts";
import { createCheckout } from "./saga/checkout.ts";
import { checkoutOptionsOf } from "./server.ts";

const env = loadWorkerEnv();
const logger = createLogger({ service: "orders-worker", level: env.LOG_LEVEL, pretty: env.NODE_ENV === "development" });
const metrics = createMetrics({ service: "orders-worker" });
const db = createDatabase(env.DATABASE_URL, {
  applicationName: "orders-worker",
  // One connection per job in hand, the relay's two (its round and LISTEN), the timer's sweep, and one to spare.
  max: env.WORKER_CONCURRENCY + 4,
  onQuery: () => metrics.dbStatements.inc(),
  onPoolError: (err) => logger.warn({ err }, "idle database connection failed"),
});

const checkout = createCheckout(checkoutOptionsOf(env), { logger, registry: metrics.registry });
// The saga's transitions are raw SQL (packages/saga, saga/checkout.ts): run on plain pg transactions of the same
// pool, they skip Prisma's interactive-transaction machinery, which cost about six times the CPU of the statements
// themselves here (bench:saga, README).
const sql = pgDatabase(db.pool);
const runtime = createWorkerRuntime({ service: "orders", env, logger, metrics, db });
// One message a transaction: the saga handlers lock their order and saga rows (see ConsumeOptions.maxBatchSize).
runtime.consume(eventQueueName("orders"), sql, checkout.handlers(), { maxBatchSize: 1 });
runtime.relay();
const timer = createSagaTimer({
  orchestrators: [checkout],
  db: sql,
  connection: { url: env.REDIS_URL },
  prefix: env.QUEUE_PREFIX,
  logger,
  intervalMs: env.SAGA_SWEEP_INTERVAL,
  stuckAfterMs: env.SAGA_STUCK_AFTER,
});
const { url } = await runtime.start();
await timer.start();
logger.info({ url }, "orders worker ready");
runUntilSignal(
  async () => {
    await timer.close();
    await runtime.stop();
    await db.close();
  },
  { logger },
);
