/**
 * Boots the inventory worker: consumes the catalog's events (events.inventory: a stock item per new product), the
 * checkout saga's TCC commands (commands.inventory: reserve, confirm, release), releases expired reservations (a
 * BullMQ job scheduler) and relays inventory's own events (stock.changed.v1, the reservation replies). Started as its own process beside the subgraph (`npm start`,
 * one Deployment in Kubernetes); several instances may run.
 */
import { commandQueueName, createWorkerRuntime, eventQueueName, pgDatabase } from "@ecom/events";
import { createLogger, createMetrics } from "@ecom/observability";
import { runUntilSignal } from "@ecom/service";
import { createInventoryHandlers } from "./consumers/catalog.ts";
import { createReservationHandlers } from "./consumers/reservations.ts";
import { createDatabase } from "./datasources/prisma.ts";
import { loadWorkerEnv } from "./env.ts";
import { createReservationExpiry } from "./expiry.ts";

const env = loadWorkerEnv();
const logger = createLogger({ service: "inventory-worker", level: env.LOG_LEVEL, pretty: env.NODE_ENV === "development" });
const metrics = createMetrics({ service: "inventory-worker" });
const db = createDatabase(env.DATABASE_URL, {
  applicationName: "inventory-worker",
  // One connection per job in hand (two consumers), the relay's two (its round and LISTEN), the expiry job, one to spare.
  max: 2 * env.WORKER_CONCURRENCY + 4,
  onQuery: () => metrics.dbStatements.inc(),
  onPoolError: (err) => logger.warn({ err }, "idle database connection failed"),
});

const runtime = createWorkerRuntime({ service: "inventory", env, logger, metrics, db });
runtime.consume(eventQueueName("inventory"), db.prisma, createInventoryHandlers());
// The TCC handlers and the expiry are raw SQL (datasources/reservations.ts): on plain pg transactions of the same
// pool they skip Prisma's interactive-transaction machinery, which cost about six times the CPU of the statements
// themselves here (bench:saga, README).
const sql = pgDatabase(db.pool);
// One command a transaction: reservations of different orders lock the same stock items (ConsumeOptions.maxBatchSize).
runtime.consume(commandQueueName("inventory"), sql, createReservationHandlers(), { maxBatchSize: 1 });
runtime.relay();
const expiry = createReservationExpiry({
  db: sql,
  redisUrl: env.REDIS_URL,
  prefix: env.QUEUE_PREFIX,
  logger,
  intervalMs: env.RESERVATION_SWEEP_INTERVAL,
});
const { url } = await runtime.start();
await expiry.start();
logger.info({ url }, "inventory worker ready");
runUntilSignal(
  async () => {
    await expiry.close();
    await runtime.stop();
    await db.close();
  },
  { logger },
);
