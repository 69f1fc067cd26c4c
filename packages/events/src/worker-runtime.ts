/**
 * What every worker process runs, so that each subgraph's `src/worker.ts` only says which queues it consumes with
 * which handlers: the Redis connection, the outbox relay, the consumers, inbox pruning, queue-depth metrics, and an
 * HTTP listener with `/health/live`, `/health/ready` and `/metrics` (Kubernetes probes, Prometheus). `stop()` is
 * graceful: readiness fails at once, the relay finishes its round, each consumer finishes the jobs in hand
 * (BullMQ `Worker.close`), then the listener and the connections close.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import type pg from "pg";
import { createObservabilityHandlers, type Logger, type Metrics, type ReadinessCheck } from "@ecom/observability";
import type { MessageType } from "./catalogue.ts";
import { consumerSizing, createConsumer, type Consumer, type MessageHandlers, type TransactionalDatabase } from "./consumer.ts";
import { createFaultInjector } from "./faults.ts";
import { eventMetrics } from "./metrics.ts";
import type { SqlTransaction } from "./outbox.ts";
import { createOutboxRelay, type OutboxRelay } from "./relay.ts";
import type { WorkerEnv } from "./worker-env.ts";

/** Options of {@link createWorkerRuntime}. */
export interface WorkerRuntimeOptions {
  /** The subgraph, e.g. `search` (the relay's producer name). */
  service: string;
  env: WorkerEnv;
  logger: Logger;
  metrics: Metrics;
  /** The service's pool (relay, inbox pruning) and its readiness check. */
  db: { pool: pg.Pool; check: () => Promise<unknown> };
  /**
   * How often queue depths are read for `/metrics`.
   * @default 5000
   */
  queueMetricsIntervalMs?: number;
}

/** How one consumer of a worker differs from the worker's env. */
export interface ConsumeOptions {
  /**
   * Most messages one transaction applies, below EVENTS_BATCH_SIZE. Handlers that lock rows shared by the messages
   * of other aggregates (the saga's: stock items, payments of other orders) want 1: batched, the transactions hold
   * each other's locks and wait on them (bench:saga at rest: 12.7 checkouts/s at 16 a batch, 24.5 at 4, 51.9 at 1).
   * @default EVENTS_BATCH_SIZE
   */
  maxBatchSize?: number;
}

/** A worker process's moving parts. */
export interface WorkerRuntime {
  /** Adds a consumer of `queue` (call before {@link WorkerRuntime.start}). */
  consume<Types extends MessageType, Tx extends SqlTransaction>(
    queue: string,
    db: TransactionalDatabase<Tx>,
    handlers: MessageHandlers<Types, Tx>,
    options?: ConsumeOptions,
  ): void;
  /** Runs the outbox relay of this service (unless `RELAY_ENABLED=false`). */
  relay(): void;
  /** Starts everything and listens; resolves with the listener's origin and port. */
  start(): Promise<{ url: string; port: number }>;
  /** Graceful stop (see the module comment). Idempotent. */
  stop(): Promise<void>;
  /** The consumers (tests). */
  readonly consumers: readonly Consumer[];
}

const PRUNE_INBOX = `
DELETE FROM inbox WHERE (consumer, message_id) IN (
  SELECT consumer, message_id FROM inbox WHERE processed_at < now() - make_interval(secs => $1::double precision / 1000) LIMIT 1000
)`;

/** The runtime of one worker process. */
export function createWorkerRuntime(options: WorkerRuntimeOptions): WorkerRuntime {
  const { env, logger, service } = options;
  if (env.EVENTS_FAULT_POINT && env.NODE_ENV === "production") {
    throw new Error("EVENTS_FAULT_POINT is a test-only crash switch and is refused in production: unset it.");
  }
  if (env.EVENTS_FAULT_POINT)
    logger.warn({ point: env.EVENTS_FAULT_POINT }, "TEST ONLY: fault injection armed; this process will SIGKILL itself");
  const faults = createFaultInjector(env.EVENTS_FAULT_POINT);
  const registry = options.metrics.registry;
  const metrics = eventMetrics(registry);
  // Queues and the relay fail fast while Redis is away (the relay retries its round); workers' blocking
  // connections are BullMQ's own, opened from the URL.
  const redis = new Redis(env.REDIS_URL, { maxRetriesPerRequest: 3, lazyConnect: true });
  redis.on("error", (err) => logger.debug({ err }, "redis connection error"));
  const connection = { url: env.REDIS_URL };
  const consumers: Consumer[] = [];
  const pending: Array<() => Consumer> = [];
  let relay: OutboxRelay | undefined;
  let shuttingDown = false;
  let stopping: Promise<void> | undefined;
  const timers: NodeJS.Timeout[] = [];
  const depthQueues = new Map<string, Queue>();

  const checks: ReadinessCheck[] = [
    { name: "postgres", check: () => options.db.check() },
    { name: "redis", check: () => redis.ping() },
    {
      name: "consumers",
      check: async () => {
        const stopped = consumers.filter((c) => !c.worker.isRunning());
        if (stopped.length > 0) throw new Error(`not consuming: ${stopped.map((c) => c.queue).join(", ")}`);
      },
    },
  ];
  const handlers = createObservabilityHandlers({ metrics: options.metrics, checks, isShuttingDown: () => shuttingDown });
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] as keyof typeof handlers;
    const handler = req.method === "GET" ? handlers[path] : undefined;
    if (handler) return handler(req, res);
    res.statusCode = 404;
    res.setHeader("content-type", "application/json; charset=utf-8");
    res.end(JSON.stringify({ error: "not found", endpoints: Object.keys(handlers) }));
  });

  async function refreshQueueDepths() {
    for (const [name, queue] of depthQueues) {
      try {
        const counts = await queue.getJobCounts("waiting", "active", "delayed", "failed", "completed");
        for (const [state, n] of Object.entries(counts)) metrics.queueJobs.set({ queue: name, state }, n);
      } catch (err) {
        logger.debug({ err, queue: name }, "queue depth not measured");
      }
    }
  }

  async function pruneInbox() {
    let total = 0;
    for (;;) {
      const { rowCount } = await options.db.pool.query(PRUNE_INBOX, [env.INBOX_RETENTION]);
      total += rowCount ?? 0;
      if (!rowCount || rowCount < 1000) break;
    }
    if (total > 0) metrics.pruned.inc({ table: "inbox" }, total);
  }

  return {
    consumers,
    consume(queue, db, queueHandlers, consumeOptions = {}) {
      pending.push(() =>
        createConsumer({
          queue,
          db,
          handlers: queueHandlers,
          connection,
          prefix: env.QUEUE_PREFIX,
          logger,
          registry,
          ...consumerSizing(env.WORKER_CONCURRENCY, Math.min(env.EVENTS_BATCH_SIZE, consumeOptions.maxBatchSize ?? env.EVENTS_BATCH_SIZE)),
          lockDurationMs: env.EVENTS_LOCK_DURATION,
          faults,
        }),
      );
    },
    relay() {
      if (!env.RELAY_ENABLED) return;
      relay = createOutboxRelay({
        producer: service,
        pool: options.db.pool,
        connection: redis,
        prefix: env.QUEUE_PREFIX,
        logger,
        registry,
        batchSize: env.RELAY_BATCH_SIZE,
        pollIntervalMs: env.RELAY_POLL_INTERVAL,
        retentionMs: env.OUTBOX_RETENTION,
        delivery: { attempts: env.EVENTS_ATTEMPTS, backoffMs: env.EVENTS_BACKOFF },
        faults,
      });
    },
    async start() {
      await redis.connect();
      await relay?.start();
      for (const make of pending.splice(0)) {
        const consumer = make();
        consumers.push(consumer);
        depthQueues.set(consumer.queue, new Queue(consumer.queue, { connection: redis, prefix: env.QUEUE_PREFIX }));
      }
      await Promise.all(consumers.map((c) => c.ready()));
      if (consumers.length > 0) {
        timers.push(setInterval(() => void refreshQueueDepths(), options.queueMetricsIntervalMs ?? 5000).unref());
        timers.push(
          setInterval(() => void pruneInbox().catch((err: unknown) => logger.warn({ err }, "inbox pruning failed")), 60_000).unref(),
        );
        await refreshQueueDepths();
      }
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(env.PORT, env.HOST, () => {
          server.off("error", reject);
          resolve();
        });
      });
      const port = (server.address() as AddressInfo).port;
      const host = env.HOST === "0.0.0.0" || env.HOST === "::" ? "localhost" : env.HOST;
      logger.info({ queues: consumers.map((c) => c.queue), relay: relay !== undefined }, `${service} worker consuming`);
      return { url: `http://${host}:${port}`, port };
    },
    stop() {
      stopping ??= (async () => {
        shuttingDown = true;
        for (const timer of timers) clearInterval(timer);
        // Consumers first: the jobs in hand finish (their outbox rows commit), then the relay sends what is left.
        await Promise.all(consumers.map((c) => c.close()));
        await relay?.stop();
        await Promise.all([...depthQueues.values()].map((q) => q.close()));
        if (server.listening) {
          server.closeAllConnections();
          await new Promise<void>((resolve) => server.close(() => resolve()));
        }
        await redis.quit().catch(() => redis.disconnect());
      })();
      return stopping;
    },
  };
}
