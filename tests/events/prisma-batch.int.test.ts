/**
 * The consumer's group commit through Prisma, as the services run it (an interactive transaction on the driver
 * adapter): the jobs in hand share one transaction, the inbox insert binds its id and type arrays through Prisma,
 * and a handler that throws rolls back its batch without taking its neighbours' effects with it. A batch that
 * could not run on Prisma would still pass the services' own consumer tests (the runner falls back to one message
 * per transaction), so this test looks at the transactions themselves.
 */
import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createConsumer, eventQueueName, type Message } from "@ecom/events";
import { makeMessage } from "@ecom/events/testing";
import { createLogger, createMetrics } from "@ecom/observability";
import { createTestDatabase, sql } from "@ecom/testing";
import { createDatabase, type Transaction } from "../../subgraphs/search/src/datasources/prisma.ts";
import { privatePrefix, waitFor } from "./support.ts";

const run = inject("testRun");

describe("consumer group commit on Prisma", { timeout: 120_000 }, () => {
  const redis = new Redis(run.redisUrl, { maxRetriesPerRequest: 3 });
  afterAll(() => redis.disconnect());

  it("applies the jobs in hand in one Prisma transaction, and a failing handler fails only its own job", async () => {
    await using database = await createTestDatabase(run, "search");
    const db = createDatabase(database.url, { max: 6 });
    const prefix = privatePrefix(run);
    const queueName = eventQueueName("search");
    const queue = new Queue(queueName, { connection: redis, prefix });
    await sql(database.url, "CREATE TABLE applied_in (message_id uuid NOT NULL, txid bigint NOT NULL)");
    let poisonRuns = 0;
    const record = async (message: Message, tx: Transaction) => {
      await tx.$executeRawUnsafe("INSERT INTO applied_in VALUES ($1::uuid, txid_current())", message.id);
      if (message.type === "stock.changed.v1" && (message as Message<"stock.changed.v1">).payload.reason === "adjusted") {
        poisonRuns += 1;
        throw new Error("poison");
      }
    };
    const consumer = createConsumer({
      queue: queueName,
      db: db.prisma,
      handlers: { "product.created.v1": record, "product.updated.v1": record, "stock.changed.v1": record },
      connection: { url: run.redisUrl },
      prefix,
      logger: createLogger({ service: "prisma-batch-test", level: "silent" }),
      registry: createMetrics({ service: "prisma-batch-test", defaultMetrics: false }).registry,
      concurrency: 8,
      autorun: false,
    });
    try {
      const stock = (reason: "restock" | "adjusted") => {
        const productId = randomUUID();
        return makeMessage("stock.changed.v1", productId, 1, { productId, onHand: 3, reserved: 0, available: 3, delta: 3, reason });
      };
      const good = Array.from({ length: 24 }, () => stock("restock"));
      const poison = stock("adjusted");
      const all = [...good.slice(0, 12), poison, ...good.slice(12)];
      await queue.addBulk(
        all.map((m) => ({ name: m.type, data: m, opts: { jobId: m.id, attempts: 2, backoff: { type: "fixed", delay: 20 } } })),
      );
      void consumer.worker.run();
      await waitFor(
        async () => (await queue.getCompletedCount()) === good.length && (await queue.getFailedCount()) === 1,
        "24 completed jobs and a failed one",
      );

      const applied = await sql<{ message_id: string; txid: string }>(database.url, "SELECT message_id::text, txid::text FROM applied_in");
      expect(applied.map((r) => r.message_id).sort()).toEqual(good.map((m) => m.id).sort());
      const perTransaction = new Map<string, number>();
      for (const row of applied) perTransaction.set(row.txid, (perTransaction.get(row.txid) ?? 0) + 1);
      expect(Math.max(...perTransaction.values()), `messages per transaction: ${[...perTransaction.values()].join(", ")}`).toBeGreaterThan(
        1,
      );
      expect(poisonRuns).toBe(2);
      const inbox = await sql<{ message_id: string }>(database.url, "SELECT message_id::text FROM inbox WHERE consumer = $1", [queueName]);
      expect(inbox.map((r) => r.message_id).sort()).toEqual(good.map((m) => m.id).sort());
    } finally {
      await consumer.close();
      await queue.obliterate({ force: true });
      await queue.close();
      await db.close();
    }
  });
});
