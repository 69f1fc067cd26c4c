/**
 * Boots the notifications worker: consumes user, order and payment events (events.notifications) into stored
 * notifications, delivers them through the transports (commands.notifications), and relays its outbox (the
 * delivery commands). Started as its own process beside the subgraph (`npm start`, one Deployment in Kubernetes);
 * several instances may run.
 */
import { commandQueueName, createWorkerRuntime, eventQueueName } from "@ecom/events";
import { createLogger, createMetrics } from "@ecom/observability";
import { runUntilSignal } from "@ecom/service";
import { createDeliveryHandlers, createNotificationHandlers } from "./consumers/notify.ts";
import { createDevelopmentMessageStore } from "./datasources/delivery.ts";
import { createDatabase } from "./datasources/prisma.ts";
import { createDevelopmentTransports } from "./domain/transports.ts";
import { loadWorkerEnv } from "./env.ts";

const env = loadWorkerEnv();
const logger = createLogger({ service: "notifications-worker", level: env.LOG_LEVEL, pretty: env.NODE_ENV === "development" });
const metrics = createMetrics({ service: "notifications-worker" });
const db = createDatabase(env.DATABASE_URL, {
  applicationName: "notifications-worker",
  // Two consumers with a connection per job in hand, the relay's two, and one for the development transport.
  max: 2 * env.WORKER_CONCURRENCY + 3,
  onQuery: () => metrics.dbStatements.inc(),
  onPoolError: (err) => logger.warn({ err }, "idle database connection failed"),
});
const transports = createDevelopmentTransports({ store: createDevelopmentMessageStore(db.prisma), logger });

const runtime = createWorkerRuntime({ service: "notifications", env, logger, metrics, db });
runtime.consume(eventQueueName("notifications"), db.prisma, createNotificationHandlers());
runtime.consume(commandQueueName("notifications"), db.prisma, createDeliveryHandlers(transports));
runtime.relay();
const { url } = await runtime.start();
logger.info({ url, transport: env.NOTIFICATIONS_TRANSPORT }, "notifications worker ready");
runUntilSignal(
  async () => {
    await runtime.stop();
    await db.close();
  },
  { logger },
);
