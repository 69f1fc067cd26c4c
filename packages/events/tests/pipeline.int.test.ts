/**
 * The outbox, the relay and the consumer runner against real Postgres, Redis and BullMQ (in-process; the crash and
 * multi-process cases are in crash.int.test.ts).
 */
import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { runWithRequestContext } from "@ecom/observability";
import {
  consumerSizing,
  createConsumer,
  createDeadLetterStore,
  createOutbox,
  createOutboxRelay,
  eventQueueName,
  isInvalidMessageError,
  pgDatabase,
  queuesFor,
  type ConsumerOptions,
  type Message,
  type PgTransaction,
} from "../src/index.ts";
import { createScratchDatabase, privatePrefix, quietObservability, redisOf, waitFor, type ScratchDatabase } from "./support.ts";

const run = inject("testRun");
const outbox = createOutbox({ producer: "products" });

const product = (id = randomUUID(), name = "Lamp") => ({
  productId: id,
  sku: "LAM-0001",
  name,
  description: "A lamp.",
  priceAmount: 1999,
  currency: "USD",
  categoryId: "00000000-0000-4000-8000-000000000001",
});

describe("outbox, relay and consumer", () => {
  let db: ScratchDatabase;
  const redis = redisOf(run);
  const { logger, metrics } = quietObservability();
  const closers: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    db = await createScratchDatabase(run);
  });
  afterAll(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
    redis.disconnect();
    await db?.[Symbol.asyncDispose]();
  });

  const write = (messages: Array<Parameters<typeof outbox.write>[1]>) =>
    pgDatabase(db.pool).$transaction(async (tx) => {
      const written: Message[] = [];
      for (const message of messages) written.push(await outbox.write(tx, message));
      return written;
    });
  const unsent = async () =>
    (await db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL")).rows[0]!.n;

  it("writes a message in the caller's transaction: rolled back with it, committed with it, versioned per aggregate", async () => {
    const id = randomUUID();
    await expect(
      pgDatabase(db.pool).$transaction(async (tx) => {
        await outbox.write(tx, { type: "product.created.v1", aggregateId: id, payload: product(id) });
        throw new Error("the state change failed");
      }),
    ).rejects.toThrow("the state change failed");
    expect((await db.pool.query("SELECT 1 FROM outbox WHERE aggregate_id = $1", [id])).rowCount).toBe(0);

    const [created, updated] = await runWithRequestContext({ requestId: "r1", correlationId: "corr-from-request" }, () =>
      write([
        { type: "product.created.v1", aggregateId: id, payload: product(id) },
        { type: "product.updated.v1", aggregateId: id, payload: { ...product(id, "Desk lamp"), changed: ["name"] } },
      ]),
    );
    expect(created).toMatchObject({
      aggregateType: "product",
      aggregateId: id,
      aggregateVersion: 1,
      correlationId: "corr-from-request",
      causationId: null,
    });
    expect(updated).toMatchObject({ aggregateVersion: 2, producer: "products" });
    const rows = await db.pool.query("SELECT type, queues, aggregate_version FROM outbox WHERE aggregate_id = $1 ORDER BY seq", [id]);
    expect(rows.rows).toEqual([
      { type: "product.created.v1", queues: queuesFor("product.created.v1"), aggregate_version: 1 },
      { type: "product.updated.v1", queues: queuesFor("product.updated.v1"), aggregate_version: 2 },
    ]);
    expect(queuesFor("product.created.v1")).toEqual(["events.inventory", "events.search"]);
  });

  it("refuses a payload the catalogue rejects, writing nothing", async () => {
    const id = randomUUID();
    const error = await write([{ type: "product.created.v1", aggregateId: id, payload: { ...product(id), priceAmount: -1 } }]).catch(
      (e) => e,
    );
    expect(isInvalidMessageError(error)).toBe(true);
    expect(String(error)).toContain("payload.priceAmount");
    expect((await db.pool.query("SELECT 1 FROM outbox WHERE aggregate_id = $1", [id])).rowCount).toBe(0);
  });

  it("relays each row to every subscribed queue as one job whose id is the message id, and never adds it twice", async () => {
    const prefix = privatePrefix(run);
    const relay = createOutboxRelay({ producer: "products", pool: db.pool, connection: redis, prefix, logger, registry: metrics.registry });
    closers.push(() => relay.stop());
    while ((await relay.relayOnce()) > 0);
    const id = randomUUID();
    const [message] = await write([{ type: "product.created.v1", aggregateId: id, payload: product(id) }]);
    expect(await relay.relayOnce()).toBe(1);
    expect(await unsent()).toBe(0);

    const search = new Queue(eventQueueName("search"), { connection: redis, prefix });
    const inventory = new Queue(eventQueueName("inventory"), { connection: redis, prefix });
    closers.push(
      () => search.close(),
      () => inventory.close(),
    );
    const job = await search.getJob(message!.id);
    expect(job?.data).toMatchObject({ id: message!.id, type: "product.created.v1", aggregateVersion: 1, producer: "products" });
    expect(job?.opts.attempts).toBe(8);
    expect(await inventory.getJob(message!.id)).toBeDefined();

    // A relay that died after adding but before marking: the row is unsent again; the next round adds nothing new.
    await db.pool.query("UPDATE outbox SET published_at = NULL WHERE id = $1", [message!.id]);
    expect(await relay.relayOnce()).toBe(1);
    expect(await search.getJobCountByTypes("waiting", "active", "completed", "failed", "delayed")).toBe(
      (await search.getJobs(["waiting"])).length,
    );
    const ids = (await search.getJobs(["waiting"], 0, -1)).map((j) => j.id);
    expect(ids.filter((j) => j === message!.id)).toHaveLength(1);
  });

  it("keeps order per aggregate and sends every row exactly once with two relays at once", async () => {
    const prefix = privatePrefix(run);
    const pools = [db.pool, new pg.Pool({ connectionString: db.url, max: 4 })];
    closers.push(() => pools[1]!.end());
    const relays = pools.map((pool, i) =>
      createOutboxRelay({
        producer: "products",
        pool,
        connection: redis,
        prefix,
        logger,
        registry: quietObservability(`relay-${i}`).metrics.registry,
        batchSize: 7,
      }),
    );
    // Drain what earlier tests left, with one relay.
    while ((await relays[0]!.relayOnce()) > 0);
    const aggregates = Array.from({ length: 12 }, () => randomUUID());
    const perAggregate = 10;
    for (let v = 0; v < perAggregate; v++) {
      await write(
        aggregates.map((id) => ({
          type: "product.updated.v1" as const,
          aggregateId: id,
          payload: { ...product(id, `v${v}`), changed: ["name"] },
        })),
      );
    }
    const total = aggregates.length * perAggregate;
    const sentBy = [0, 0];
    await Promise.all(
      relays.map(async (relay, i) => {
        for (;;) {
          const n = await relay.relayOnce();
          sentBy[i]! += n;
          if (n === 0 && (await unsent()) === 0) return;
        }
      }),
    );
    expect(sentBy[0]! + sentBy[1]!).toBe(total);
    expect(
      sentBy.every((n) => n > 0),
      `both relays sent (${sentBy.join(" + ")})`,
    ).toBe(true);

    const queue = new Queue(eventQueueName("search"), { connection: redis, prefix });
    closers.push(() => queue.close());
    const jobs = await queue.getJobs(["waiting"], 0, -1, true);
    expect(jobs).toHaveLength(total);
    expect(new Set(jobs.map((j) => j.id)).size).toBe(total);
    for (const id of aggregates) {
      const versions = jobs.filter((j) => j.data.aggregateId === id).map((j) => j.data.aggregateVersion as number);
      expect(versions, `queue order of aggregate ${id}`).toEqual(Array.from({ length: perAggregate }, (_, i) => i + 1));
    }
  });

  it("holds back the later rows of an aggregate whose earlier row another relay holds, and sends the rest", async () => {
    const prefix = privatePrefix(run);
    const relay = createOutboxRelay({ producer: "products", pool: db.pool, connection: redis, prefix, logger, registry: metrics.registry });
    closers.push(() => relay.stop());
    while ((await relay.relayOnce()) > 0);
    const [x, y] = [randomUUID(), randomUUID()];
    const update = (id: string, name: string) => ({
      type: "product.updated.v1" as const,
      aggregateId: id,
      payload: { ...product(id, name), changed: ["name"] },
    });
    const [x1] = await write([update(x, "x1"), update(x, "x2"), update(y, "y1"), update(x, "x3")]);
    // Another relay's round: it has locked x's first row and not yet marked it sent.
    const other = await db.pool.connect();
    try {
      await other.query("BEGIN");
      await other.query("SELECT 1 FROM outbox WHERE id = $1 FOR UPDATE", [x1!.id]);
      expect(await relay.relayOnce(), "only y's row: x's later rows wait for its first").toBe(1);
      const unsentOfX = await db.pool.query<{ v: number }>(
        "SELECT aggregate_version AS v FROM outbox WHERE aggregate_id = $1 AND published_at IS NULL ORDER BY seq",
        [x],
      );
      expect(unsentOfX.rows.map((r) => r.v)).toEqual([1, 2, 3]);
    } finally {
      // That relay died before marking: its lock goes with its transaction, the row is unsent again.
      await other.query("ROLLBACK").catch(() => {});
      other.release();
    }
    expect(await relay.relayOnce()).toBe(3);
    const queue = queueOf(eventQueueName("search"), prefix);
    const jobs = await queue.getJobs(["waiting"], 0, -1, true);
    expect(jobs.filter((j) => j.data.aggregateId === y).map((j) => j.data.aggregateVersion)).toEqual([1]);
    expect(jobs.filter((j) => j.data.aggregateId === x).map((j) => j.data.aggregateVersion)).toEqual([1, 2, 3]);
  });

  /** A queue handle on `name` under `prefix`, closed after the file. */
  const queueOf = (name: string, prefix: string) => {
    const queue = new Queue(name, { connection: redis, prefix });
    closers.push(() => queue.close());
    return queue;
  };
  /** A consumer of `events.search` under `prefix` that applies every message type with `handle`, closed after the file. */
  const searchConsumer = (
    prefix: string,
    handle: (message: Message, tx: PgTransaction) => Promise<void>,
    options: Partial<ConsumerOptions<"product.created.v1", PgTransaction>> = {},
  ) => {
    const consumer = createConsumer({
      queue: eventQueueName("search"),
      db: pgDatabase(db.pool),
      handlers: { "product.created.v1": handle, "product.updated.v1": handle, "stock.changed.v1": handle },
      connection: { url: run.redisUrl },
      prefix,
      logger,
      registry: metrics.registry,
      ...options,
    });
    closers.push(() => consumer.close());
    return consumer;
  };
  /** A `product.created.v1` envelope of a new product named `name`, as the relay delivers it. */
  const created = (name: string, correlationId = `corr-${name}`): Message => {
    const id = randomUUID();
    return {
      id: randomUUID(),
      type: "product.created.v1",
      aggregateType: "product",
      aggregateId: id,
      aggregateVersion: 1,
      occurredAt: new Date().toISOString(),
      correlationId,
      causationId: null,
      producer: "products",
      payload: product(id, name),
    };
  };
  const effectOf = (message: Message, tx: PgTransaction) =>
    tx.$executeRawUnsafe(
      "INSERT INTO effects (message_id, aggregate_id, version) VALUES ($1, $2, $3)",
      message.id,
      message.aggregateId,
      message.aggregateVersion,
    );

  it("applies a message once however often it is delivered, in the consumer's transaction, with its correlation id", async () => {
    const prefix = privatePrefix(run);
    const queueName = eventQueueName("search");
    const queue = queueOf(queueName, prefix);
    const seen: Array<{ id: string; correlationId: string | undefined }> = [];
    searchConsumer(
      prefix,
      async (message, tx) => {
        seen.push({ id: message.id, correlationId: message.correlationId });
        await effectOf(message, tx);
      },
      { concurrency: 4 },
    );
    const message = created("Lamp", "corr-42");
    // Five deliveries of one message (distinct jobs: BullMQ itself would drop a second job with the same id), at once.
    await queue.addBulk(
      Array.from({ length: 5 }, (_, i) => ({ name: message.type, data: message, opts: { jobId: `${message.id}-copy${i}` } })),
    );
    await waitFor(async () => (await queue.getCompletedCount()) === 5, "five completed jobs");
    const effects = await db.pool.query("SELECT message_id FROM effects WHERE aggregate_id = $1", [message.aggregateId]);
    expect(effects.rowCount).toBe(1);
    expect(seen.filter((s) => s.id === message.id)).toEqual([{ id: message.id, correlationId: "corr-42" }]);
    const inbox = await db.pool.query("SELECT consumer, type FROM inbox WHERE message_id = $1", [message.id]);
    expect(inbox.rows).toEqual([{ consumer: queueName, type: "product.created.v1" }]);
    const outcomes = (await metrics.registry.getSingleMetric("events_consumed_total")!.get()).values
      .filter((v) => v.labels["type"] === "product.created.v1")
      .map((v) => [v.labels["outcome"], v.value]);
    expect(Object.fromEntries(outcomes)).toMatchObject({ applied: 1, duplicate: 4 });
  });

  it("applies the jobs in hand in one transaction, and a failing handler fails only its own job", async () => {
    const prefix = privatePrefix(run);
    const queueName = eventQueueName("search");
    const queue = queueOf(queueName, prefix);
    await db.pool.query("CREATE TABLE applied_in (message_id uuid NOT NULL, txid bigint NOT NULL)");
    let poisonRuns = 0;
    const consumer = searchConsumer(
      prefix,
      async (message, tx) => {
        // Written before the throw for the poison: the rollback must take it back.
        await tx.$executeRawUnsafe("INSERT INTO applied_in VALUES ($1, txid_current())", message.id);
        if (message.type === "product.created.v1" && message.payload.name === "Poison") {
          poisonRuns += 1;
          throw new Error("poison");
        }
      },
      { concurrency: 8, autorun: false },
    );
    const good = Array.from({ length: 30 }, (_, i) => created(`Good ${i}`));
    const poison = created("Poison");
    const all = [...good.slice(0, 15), poison, ...good.slice(15)];
    // All waiting before the worker starts: it takes 8 at once, which the runner applies together.
    await queue.addBulk(
      all.map((m) => ({ name: m.type, data: m, opts: { jobId: m.id, attempts: 2, backoff: { type: "fixed", delay: 20 } } })),
    );
    void consumer.worker.run();
    await waitFor(
      async () => (await queue.getCompletedCount()) === good.length && (await queue.getFailedCount()) === 1,
      "30 completed jobs and a failed one",
    );

    const applied = (await db.pool.query<{ message_id: string; txid: string }>("SELECT message_id, txid::text FROM applied_in")).rows;
    // Each good message's effect exactly once (its batch's rolled-back run left nothing), none of the poison's.
    expect(applied.map((r) => r.message_id).sort()).toEqual(good.map((m) => m.id).sort());
    const byTransaction = new Map<string, number>();
    for (const row of applied) byTransaction.set(row.txid, (byTransaction.get(row.txid) ?? 0) + 1);
    const perTransaction = [...byTransaction.values()];
    expect(perTransaction.length, `messages per transaction: ${perTransaction.join(", ")}`).toBeLessThan(good.length);
    expect(Math.max(...perTransaction)).toBeGreaterThan(1);
    // The poison ran once per attempt (a neighbour's failure does not re-run it), then became a dead letter.
    expect(poisonRuns).toBe(2);
    const [failed] = await queue.getFailed();
    expect(failed).toMatchObject({ id: poison.id, failedReason: "poison", attemptsMade: 2 });
    const inbox = await db.pool.query<{ message_id: string }>("SELECT message_id FROM inbox WHERE consumer = $1", [queueName]);
    expect(inbox.rows.map((r) => r.message_id)).not.toContain(poison.id);
    expect(inbox.rows.filter((r) => good.some((m) => m.id === r.message_id))).toHaveLength(good.length);
  });

  it("sized as a worker sizes it, runs no more transactions at once nor messages in one than asked, and batches the jobs in hand", async () => {
    const prefix = privatePrefix(run);
    const queue = queueOf(eventQueueName("search"), prefix);
    await db.pool.query("CREATE TABLE sized_in (message_id uuid NOT NULL, txid bigint NOT NULL)");
    // Counts the transactions open at once through the consumer's own database handle (a real Postgres pool).
    const base = pgDatabase(db.pool);
    let open = 0;
    let mostOpen = 0;
    const counted: typeof base = {
      async $transaction(fn, options) {
        mostOpen = Math.max(mostOpen, ++open);
        try {
          return await base.$transaction(fn, options);
        } finally {
          open -= 1;
        }
      },
    };
    const sizing = consumerSizing(1, 8);
    expect(sizing).toEqual({ concurrency: 8, transactions: 1, batchSize: 8 });
    const consumer = searchConsumer(
      prefix,
      async (message, tx) => {
        await tx.$executeRawUnsafe("INSERT INTO sized_in VALUES ($1, txid_current())", message.id);
      },
      { ...sizing, db: counted, autorun: false },
    );
    const messages = Array.from({ length: 60 }, (_, i) => created(`Sized ${i}`));
    await queue.addBulk(messages.map((m) => ({ name: m.type, data: m, opts: { jobId: m.id, attempts: 1 } })));
    void consumer.worker.run();
    await waitFor(async () => (await queue.getCompletedCount()) === messages.length, "every job completed");

    const perTransaction = (
      await db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM sized_in GROUP BY txid ORDER BY n DESC")
    ).rows.map((r) => r.n);
    expect(perTransaction.reduce((a, b) => a + b, 0)).toBe(messages.length);
    expect(mostOpen, "transactions open at once").toBe(1);
    expect(perTransaction[0], `messages per transaction: ${perTransaction.join(", ")}`).toBeLessThanOrEqual(8);
    // The jobs taken while the one transaction ran waited and went into the next one together.
    expect(perTransaction[0], `messages per transaction: ${perTransaction.join(", ")}`).toBeGreaterThan(1);
  });

  it("applies again on its own, without spending an attempt, a message whose handler hit a deadlock in a batch", async () => {
    const prefix = privatePrefix(run);
    const queue = queueOf(eventQueueName("search"), prefix);
    const raised = new Set<string>();
    const consumer = searchConsumer(
      prefix,
      async (message, tx) => {
        // Inbox rows this transaction wrote: more than one means this handler runs in a batch.
        const { rows } = await tx.client.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM inbox WHERE xmin = pg_current_xact_id()::text::xid",
        );
        if (rows[0]!.n > 1 && !raised.has(message.id)) {
          raised.add(message.id);
          // A real Postgres error with a deadlock's SQLSTATE, as the driver reports one.
          await tx.client.query("DO $$ BEGIN RAISE EXCEPTION 'deadlock detected (test)' USING ERRCODE = '40P01'; END $$");
        }
        await effectOf(message, tx);
      },
      { concurrency: 8, autorun: false },
    );
    const messages = Array.from({ length: 16 }, (_, i) => created(`Conflicted ${i}`, `corr-conflict-${i}`));
    // One attempt each: a conflict that cost an attempt would make a dead letter.
    await queue.addBulk(messages.map((m) => ({ name: m.type, data: m, opts: { jobId: m.id, attempts: 1 } })));
    void consumer.worker.run();
    await waitFor(async () => (await queue.getCompletedCount()) + (await queue.getFailedCount()) === messages.length, "every job settled");
    expect(raised.size, "handlers that hit the conflict in a batch").toBeGreaterThan(0);
    expect(await queue.getFailedCount()).toBe(0);
    const effects = await db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM effects WHERE message_id = ANY($1::uuid[])", [
      messages.map((m) => m.id),
    ]);
    expect(effects.rows).toEqual([{ n: messages.length }]);
  });

  it("refuses handlers that do not match the queue's topology", () => {
    expect(() =>
      createConsumer({
        queue: eventQueueName("inventory"),
        db: pgDatabase(db.pool),
        handlers: {} as never,
        connection: { url: run.redisUrl },
        prefix: privatePrefix(run),
        logger,
        registry: metrics.registry,
        autorun: false,
      }),
    ).toThrow(/missing product\.created\.v1/);
  });

  it("dead-letters a malformed message and a handler that keeps failing, keeps working, and replays them once fixed", async () => {
    const prefix = privatePrefix(run);
    const queueName = eventQueueName("inventory");
    const queue = queueOf(queueName, prefix);
    const store = createDeadLetterStore({ connection: redis, prefix, queues: [queueName] });
    closers.push(() => store.close());
    let broken = true;
    let attempts = 0;
    const consumer = createConsumer({
      queue: queueName,
      db: pgDatabase(db.pool),
      handlers: {
        "product.created.v1": async (message, tx) => {
          if (message.payload.name === "Flaky") {
            attempts += 1;
            if (broken) throw new Error("downstream is unavailable");
          }
          await tx.$executeRawUnsafe(
            "INSERT INTO effects (message_id, aggregate_id, version) VALUES ($1, $2, $3)",
            message.id,
            message.aggregateId,
            1,
          );
        },
      },
      connection: { url: run.redisUrl },
      prefix,
      logger,
      registry: metrics.registry,
    });
    closers.push(() => consumer.close());
    const envelope = (payload: unknown) => ({
      id: randomUUID(),
      type: "product.created.v1",
      aggregateType: "product",
      aggregateId: randomUUID(),
      aggregateVersion: 1,
      occurredAt: new Date().toISOString(),
      correlationId: "corr-dlq",
      causationId: null,
      producer: "products",
      payload,
    });
    const malformed = envelope({ ...product(), name: undefined });
    const flaky = envelope(product(undefined, "Flaky"));
    const fine = envelope(product(undefined, "Fine"));
    const options = { attempts: 3, backoff: { type: "exponential", delay: 20 }, removeOnFail: false };
    await queue.add("product.created.v1", malformed, { ...options, jobId: malformed.id });
    await queue.add("product.created.v1", flaky, { ...options, jobId: flaky.id });
    await queue.add("product.created.v1", fine, { ...options, jobId: fine.id });

    const dead = await waitFor(async () => {
      const list = await store.list();
      return list.length === 2 ? list : undefined;
    }, "two dead letters");
    expect(await queue.getCompletedCount()).toBe(1);
    const byId = Object.fromEntries(dead.map((d) => [d.id, d]));
    expect(byId[malformed.id]).toMatchObject({ queue: queueName, type: "product.created.v1", attempts: 1 });
    expect(byId[malformed.id]!.reason).toMatch(/^malformed message: invalid product\.created\.v1 payload: payload\.name: /);
    expect(byId[flaky.id]).toMatchObject({ reason: "downstream is unavailable", attempts: 3, correlationId: "corr-dlq" });
    expect(attempts).toBe(3);
    const [shown] = await store.show(flaky.id);
    expect(shown?.data).toMatchObject({ id: flaky.id, payload: { name: "Flaky" } });
    expect(shown?.stacktrace.length).toBeGreaterThan(0);

    // Fixed: the dependency is back, and the malformed payload is corrected by the operator.
    broken = false;
    expect(await store.replay(flaky.id)).toEqual([queueName]);
    await expect(store.replay(malformed.id, { payload: { ...product(), name: 42 } })).rejects.toThrow(/not a valid product\.created\.v1/);
    expect(await store.replay(malformed.id, { payload: product(malformed.aggregateId, "Corrected") })).toEqual([queueName]);
    await waitFor(async () => (await queue.getCompletedCount()) === 3, "the replayed jobs to complete");
    expect(await store.list()).toEqual([]);
    for (const m of [malformed, flaky, fine]) {
      expect((await db.pool.query("SELECT 1 FROM effects WHERE message_id = $1", [m.id])).rowCount, m.payload ? "applied once" : "").toBe(
        1,
      );
    }
    // Replaying an applied message again (an operator's double replay) has no second effect.
    expect(await store.replay(flaky.id)).toEqual([]);
  });

  it("prunes sent rows after the retention period and keeps unsent ones", async () => {
    const prefix = privatePrefix(run);
    const relay = createOutboxRelay({
      producer: "products",
      pool: db.pool,
      connection: redis,
      prefix,
      logger,
      registry: metrics.registry,
      retentionMs: 60_000,
    });
    closers.push(() => relay.stop());
    while ((await relay.relayOnce()) > 0);
    const [old, recent] = await write([
      { type: "product.created.v1", aggregateId: randomUUID(), payload: product() },
      { type: "product.created.v1", aggregateId: randomUUID(), payload: product() },
    ]);
    await relay.relayOnce();
    const [pending] = await write([{ type: "product.created.v1", aggregateId: randomUUID(), payload: product() }]);
    await db.pool.query(
      "UPDATE outbox SET published_at = now() - interval '2 minutes', occurred_at = now() - interval '2 minutes' WHERE id = $1",
      [old!.id],
    );
    await db.pool.query("UPDATE outbox SET occurred_at = now() - interval '2 minutes' WHERE id = $1", [pending!.id]);
    expect(await relay.prune()).toBeGreaterThanOrEqual(1);
    const left = (
      await db.pool.query<{ id: string }>("SELECT id::text FROM outbox WHERE id = ANY($1::uuid[])", [[old!.id, recent!.id, pending!.id]])
    ).rows.map((r) => r.id);
    expect(left.sort()).toEqual([recent!.id, pending!.id].sort());
    const backlog = await relay.backlog();
    expect(backlog.count).toBe(1);
    expect(backlog.oldestAgeSeconds).toBeGreaterThan(100);
  });
});
