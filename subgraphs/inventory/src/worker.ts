/**
 * Boots the inventory worker: consumes the catalog's events (events.inventory: a stock item per new product) and
 * relays inventory's own events (stock.changed.v1). Started as its own process beside the subgraph (`npm start`,
 * one Deployment in Kubernetes); several instances may run.
 */
import { createWorkerRuntime, eventQueueName } from "@ecom/events";
import { createLogger, createMetrics } from "@ecom/observability";
import { runUntilSignal } from "@ecom/service";
import { createInventoryHandlers } from "./consumers/catalog.ts";
import { createDatabase } from "./datasources/prisma.ts";
import { loadWorkerEnv } from "./env.ts";

const env = loadWorkerEnv();
const logger = createLogger({ service: "inventory-worker", level: env.LOG_LEVEL, pretty: env.NODE_ENV === "development" });
const metrics = createMetrics({ service: "inventory-worker" });
const db = createDatabase(env.DATABASE_URL, {
  applicationName: "inventory-worker",
  // One connection per job in hand, the relay's two (its round and LISTEN), and one to spare.
  max: env.WORKER_CONCURRENCY + 3,
  onQuery: () => metrics.dbStatements.inc(),
  onPoolError: (err) => logger.warn({ err }, "idle database connection failed"),
});

const runtime = createWorkerRuntime({ service: "inventory", env, logger, metrics, db });
runtime.consume(eventQueueName("inventory"), db.prisma, createInventoryHandlers());
runtime.relay();
const { url } = await runtime.start();
logger.info({ url }, "inventory worker ready");
runUntilSignal(
  async () => {
    await runtime.stop();
    await db.close();
  },
  { logger },
);
