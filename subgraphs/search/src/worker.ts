/**
 * Boots the search worker: consumes the catalog's events (events.search) into the read model. Started as its own
 * process beside the subgraph (`npm start`, one Deployment in Kubernetes); several instances may run.
 */
import { createWorkerRuntime, eventQueueName } from "@ecom/events";
import { createLogger, createMetrics } from "@ecom/observability";
import { runUntilSignal } from "@ecom/service";
import { createSearchHandlers } from "./consumers/catalog.ts";
import { createDatabase } from "./datasources/prisma.ts";
import { loadWorkerEnv } from "./env.ts";

const env = loadWorkerEnv();
const logger = createLogger({ service: "search-worker", level: env.LOG_LEVEL, pretty: env.NODE_ENV === "development" });
const metrics = createMetrics({ service: "search-worker" });
const db = createDatabase(env.DATABASE_URL, {
  applicationName: "search-worker",
  // One connection per job in hand, and one to spare.
  max: env.WORKER_CONCURRENCY + 2,
  onQuery: () => metrics.dbStatements.inc(),
  onPoolError: (err) => logger.warn({ err }, "idle database connection failed"),
});

const runtime = createWorkerRuntime({ service: "search", env, logger, metrics, db });
runtime.consume(eventQueueName("search"), db.prisma, createSearchHandlers());
const { url } = await runtime.start();
logger.info({ url }, "search worker ready");
runUntilSignal(
  async () => {
    await runtime.stop();
    await db.close();
  },
  { logger },
);
