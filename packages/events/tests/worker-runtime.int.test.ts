/** The worker runtime sizes each consumer from the worker's env and the consumer's own options (real Redis, BullMQ). */
import { describe, expect, inject, it } from "vitest";
import { commandQueueName, createWorkerRuntime, eventQueueName, pgDatabase, typesOfQueue, type WorkerEnv } from "../src/index.ts";
import { createScratchDatabase, privatePrefix, quietObservability } from "./support.ts";

const run = inject("testRun");

describe("worker runtime", () => {
  it("holds WORKER_CONCURRENCY x EVENTS_BATCH_SIZE jobs per consumer, and WORKER_CONCURRENCY where maxBatchSize is 1", async () => {
    await using db = await createScratchDatabase(run);
    const env: WorkerEnv = {
      NODE_ENV: "test",
      HOST: "127.0.0.1",
      PORT: 0,
      REDIS_URL: run.redisUrl,
      QUEUE_PREFIX: privatePrefix(run),
      WORKER_CONCURRENCY: 3,
      EVENTS_BATCH_SIZE: 16,
      RELAY_ENABLED: false,
      RELAY_BATCH_SIZE: 200,
      RELAY_POLL_INTERVAL: 500,
      OUTBOX_RETENTION: 3_600_000,
      INBOX_RETENTION: 3_600_000,
      EVENTS_ATTEMPTS: 3,
      EVENTS_BACKOFF: 1000,
      EVENTS_LOCK_DURATION: 30_000,
    };
    const runtime = createWorkerRuntime({
      service: "inventory",
      env,
      ...quietObservability("worker-runtime-test"),
      db: { pool: db.pool, check: () => db.pool.query("SELECT 1") },
    });
    const sql = pgDatabase(db.pool);
    // Handlers that do nothing: no message is sent, only the consumers' sizes are read.
    const noop = (queue: string) => Object.fromEntries(typesOfQueue(queue).map((type) => [type, async () => {}]));
    runtime.consume(eventQueueName("inventory"), sql, noop(eventQueueName("inventory")));
    runtime.consume(commandQueueName("inventory"), sql, noop(commandQueueName("inventory")), { maxBatchSize: 1 });
    try {
      await runtime.start();
      const sizes = Object.fromEntries(runtime.consumers.map((c) => [c.queue, c.worker.opts.concurrency]));
      expect(sizes).toEqual({ [eventQueueName("inventory")]: 3 * 16, [commandQueueName("inventory")]: 3 });
    } finally {
      await runtime.stop();
    }
  });
});
