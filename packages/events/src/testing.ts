/**
 * Helpers for tests of consumers (`@ecom/events/testing`): build messages as the relay would deliver them, and
 * deliver a list of them through the real consumer runner and BullMQ, each as its own job (so the same message can
 * be delivered twice, which BullMQ would otherwise deduplicate by job id).
 */
import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import type { Registry } from "prom-client";
import { createLogger, createMetrics } from "@ecom/observability";
import { catalogue, type MessageType, type PayloadInput } from "./catalogue.ts";
import { createConsumer, type MessageHandlers, type TransactionalDatabase } from "./consumer.ts";
import type { Message } from "./envelope.ts";
import type { SqlTransaction } from "./outbox.ts";

/** A message of `type` as delivered (payload validated and normalized by the catalogue's schema). */
export function makeMessage<T extends MessageType>(
  type: T,
  aggregateId: string,
  aggregateVersion: number,
  payload: PayloadInput<T>,
  overrides: Partial<Omit<Message<T>, "type" | "payload">> = {},
): Message<T> {
  return {
    id: randomUUID(),
    type,
    aggregateType: catalogue[type].aggregate,
    aggregateId,
    aggregateVersion,
    occurredAt: new Date().toISOString(),
    correlationId: `test-${randomUUID()}`,
    causationId: null,
    producer: "test",
    ...overrides,
    payload: catalogue[type].payload.parse(payload) as Message<T>["payload"],
  };
}

/** Options of {@link deliver}. */
export interface DeliverOptions<Types extends MessageType, Tx extends SqlTransaction> {
  queue: string;
  db: TransactionalDatabase<Tx>;
  handlers: MessageHandlers<Types, Tx>;
  redisUrl: string;
  /** A BullMQ prefix of the test's own. */
  prefix: string;
  /** Delivered in this order (duplicates allowed), `concurrency` at a time. */
  messages: readonly Message[];
  /** @default 4 */
  concurrency?: number;
  /** @default a fresh registry */
  registry?: Registry;
  /** @default 30000 */
  timeoutMs?: number;
}

/**
 * Delivers `messages` to a consumer of `queue` and resolves when every job completed; rejects with the failures if
 * any job failed or the time ran out. Jobs are single-attempt: a handler error is a test failure.
 */
export async function deliver<Types extends MessageType, Tx extends SqlTransaction>(options: DeliverOptions<Types, Tx>): Promise<void> {
  const connection = { url: options.redisUrl };
  const queue = new Queue(options.queue, { connection, prefix: options.prefix });
  const consumer = createConsumer({
    queue: options.queue,
    db: options.db,
    handlers: options.handlers,
    connection,
    prefix: options.prefix,
    logger: createLogger({ service: "test-consumer", level: "silent" }),
    registry: options.registry ?? createMetrics({ service: "test-consumer", defaultMetrics: false }).registry,
    concurrency: options.concurrency ?? 4,
    autorun: false,
  });
  try {
    const before = await queue.getCompletedCount();
    await queue.addBulk(
      options.messages.map((m, i) => ({ name: m.type, data: m, opts: { jobId: `${m.id}.${i}.${randomUUID().slice(0, 8)}`, attempts: 1 } })),
    );
    void consumer.worker.run();
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    for (;;) {
      const failed = await queue.getFailed();
      if (failed.length > 0) throw new Error(`delivery failed: ${failed.map((j) => `${j.name}: ${j.failedReason}`).join("; ")}`);
      if ((await queue.getCompletedCount()) - before >= options.messages.length) return;
      if (Date.now() > deadline) throw new Error(`delivery did not finish within ${options.timeoutMs ?? 30_000} ms`);
      await new Promise((r) => setTimeout(r, 25));
    }
  } finally {
    await consumer.close();
    await queue.close();
  }
}

/** Every message twice, shuffled (a fixed seed: the same order on every run of a test). */
export function twiceShuffled<T>(items: readonly T[], seed = 42): T[] {
  const all = [...items, ...items];
  let state = seed;
  const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all;
}
