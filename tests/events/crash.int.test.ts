/**
 * The outbox under crashes, with real worker processes: the products worker relays (and is made to SIGKILL itself at
 * an exact point with the test-only EVENTS_FAULT_POINT), the search worker consumes. Real Postgres, Redis, BullMQ.
 */
import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { parsePgUrl } from "@ecom/db";
import { eventQueueName } from "@ecom/events";
import { makeMessage } from "@ecom/events/testing";
import { createTestDatabase, sql, type TestDatabase } from "@ecom/testing";
import { commitProduct, jobsWithId, poolOf, privatePrefix, publishedBy, startWorker, waitFor, type Worker } from "./support.ts";

const run = inject("testRun");

// Each test starts worker processes (seconds each on a loaded machine).
describe("outbox relay and consumers under crashes (real processes)", { timeout: 180_000 }, () => {
  let products: TestDatabase;
  let search: TestDatabase;
  const redis = new Redis(run.redisUrl, { maxRetriesPerRequest: 3 });
  const started: Worker[] = [];
  const cleanup: Array<() => Promise<unknown>> = [];
  const track = (w: Worker) => (started.push(w), w);
  // A test's workers stop when it ends: a relay left running would take the next test's rows.
  afterEach(async () => {
    await Promise.allSettled(started.splice(0).map((w) => w.process.stop(2000)));
  });

  beforeAll(async () => {
    products = await createTestDatabase(run, "products");
    search = await createTestDatabase(run, "search");
  });
  afterAll(async () => {
    await Promise.allSettled(started.map((w) => w.process.stop(2000)));
    for (const c of cleanup) await c().catch(() => {});
    redis.disconnect();
    await products?.drop();
    await search?.drop();
  });

  const queuesOf = (prefix: string) => {
    const q = {
      search: new Queue(eventQueueName("search"), { connection: redis, prefix }),
      inventory: new Queue(eventQueueName("inventory"), { connection: redis, prefix }),
    };
    cleanup.push(
      () => q.search.close(),
      () => q.inventory.close(),
    );
    return q;
  };
  const published = async (messageId: string) =>
    (
      await sql<{ published: boolean }>(products.url, "SELECT published_at IS NOT NULL AS published FROM outbox WHERE id = $1", [messageId])
    )[0]?.published;

  it("delivers an event committed while its relay died between the commit and the publish, once the relay restarts", async () => {
    const prefix = privatePrefix(run);
    const queues = queuesOf(prefix);
    const pool = poolOf(products.url);
    cleanup.push(() => pool.end());
    const doomed = track(
      await startWorker({ service: "products", databaseUrl: products.url, run, prefix, env: { EVENTS_FAULT_POINT: "relay:before-add" } }),
    );

    const { productId, messageId } = await commitProduct(pool);
    // The relay took the committed row and was killed before it could add the job.
    expect(await doomed.process.exited).toBeNull();
    expect(doomed.process.child.signalCode).toBe("SIGKILL");
    expect(doomed.process.output()).toContain("fault injection: SIGKILL at relay:before-add");
    expect(await published(messageId)).toBe(false);
    expect(await jobsWithId(queues.search, messageId)).toBe(0);

    track(await startWorker({ service: "products", databaseUrl: products.url, run, prefix }));
    await waitFor(() => published(messageId), "the restarted relay to send the row");
    expect(await jobsWithId(queues.search, messageId)).toBe(1);
    expect(await jobsWithId(queues.inventory, messageId)).toBe(1);

    // And the consumer applies it.
    track(await startWorker({ service: "search", databaseUrl: search.url, run, prefix }));
    const doc = await waitFor(
      async () => (await sql(search.url, "SELECT name, product_version FROM search_documents WHERE product_id = $1", [productId]))[0],
      "the search worker to index the product",
    );
    expect(doc).toEqual({ name: "Crash-tested lamp", product_version: 1 });
  });

  it("leaves exactly one job when the relay died after adding it but before marking the row sent", async () => {
    const prefix = privatePrefix(run);
    const queues = queuesOf(prefix);
    const pool = poolOf(products.url);
    cleanup.push(() => pool.end());
    // Drain what the previous test left, so that the doomed relay's first round holds only this test's row.
    await sql(products.url, "UPDATE outbox SET published_at = now() WHERE published_at IS NULL");
    const doomed = track(
      await startWorker({ service: "products", databaseUrl: products.url, run, prefix, env: { EVENTS_FAULT_POINT: "relay:after-add" } }),
    );

    const { productId, messageId } = await commitProduct(pool, "Added once");
    expect(await doomed.process.exited).toBeNull();
    expect(doomed.process.output()).toContain("fault injection: SIGKILL at relay:after-add");
    // The job was added, the row not marked: the restarted relay adds it again.
    expect(await published(messageId)).toBe(false);
    expect(await jobsWithId(queues.search, messageId)).toBe(1);

    const relay = track(await startWorker({ service: "products", databaseUrl: products.url, run, prefix }));
    await waitFor(() => published(messageId), "the restarted relay to mark the row sent");
    expect(await publishedBy(relay)).toBe(1);
    expect(await jobsWithId(queues.search, messageId)).toBe(1);
    expect(await jobsWithId(queues.inventory, messageId)).toBe(1);
    expect(
      (await queues.search.getJobs(["waiting", "completed", "active"], 0, -1)).filter((j) => j.data.aggregateId === productId),
    ).toHaveLength(1);

    track(await startWorker({ service: "search", databaseUrl: search.url, run, prefix }));
    await waitFor(async () => (await queues.search.getCompletedCount()) >= 1, "the search worker to consume the job");
    expect(await sql(search.url, "SELECT count(*)::int AS n FROM inbox WHERE message_id = $1", [messageId])).toEqual([{ n: 1 }]);
    expect(await sql(search.url, "SELECT name FROM search_documents WHERE product_id = $1", [productId])).toEqual([{ name: "Added once" }]);
  });

  it("sends each event exactly once, in order per aggregate, with two relays running at once", async () => {
    const prefix = privatePrefix(run);
    const queues = queuesOf(prefix);
    await sql(products.url, "UPDATE outbox SET published_at = now() WHERE published_at IS NULL");
    const env = { RELAY_BATCH_SIZE: "5" };
    const relays = [
      track(await startWorker({ service: "products", databaseUrl: products.url, run, prefix, env })),
      track(await startWorker({ service: "products", databaseUrl: products.url, run, prefix, env })),
    ];
    const pool = poolOf(products.url);
    cleanup.push(() => pool.end());
    // 20 products, each created and then renamed 4 times, by 4 writers at once while both relays run.
    const created = await Promise.all(Array.from({ length: 20 }, (_, i) => commitProduct(pool, `Relayed ${i}`)));
    const ids = created.map((c) => c.productId);
    const total = ids.length * 5;
    const { createOutbox, pgDatabase } = await import("@ecom/events");
    const outbox = createOutbox({ producer: "products" });
    for (let v = 2; v <= 5; v++) {
      await Promise.all(
        ids.map((id) =>
          pgDatabase(pool).$transaction(async (tx) => {
            const { rows } = await tx.client.query("UPDATE products SET name = $2 WHERE id = $1 RETURNING sku, category_id::text AS c", [
              id,
              `Renamed ${v}`,
            ]);
            await outbox.write(tx, {
              type: "product.updated.v1",
              aggregateId: id,
              payload: {
                productId: id,
                sku: rows[0].sku,
                name: `Renamed ${v}`,
                description: "Survives crashes.",
                priceAmount: 1999,
                currency: "USD",
                categoryId: rows[0].c,
                changed: ["name"],
              },
            });
          }),
        ),
      );
    }
    await waitFor(
      async () => (await sql<{ n: number }>(products.url, "SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL"))[0]!.n === 0,
      "every row sent",
    );
    const counts = await Promise.all(relays.map(publishedBy));
    expect(counts[0]! + counts[1]!, `sent by each relay: ${counts.join(" + ")}`).toBe(total);

    const jobs = (await queues.search.getJobs(["waiting"], 0, -1, true)).filter((j) => ids.includes(j.data.aggregateId));
    expect(jobs).toHaveLength(total);
    expect(new Set(jobs.map((j) => j.id)).size).toBe(total);
    for (const id of ids) {
      expect(
        jobs.filter((j) => j.data.aggregateId === id).map((j) => j.data.aggregateVersion),
        `order of ${id}`,
      ).toEqual([1, 2, 3, 4, 5]);
    }
  });

  it("has no second effect when a consumer died after its commit but before acknowledging the job", async () => {
    const prefix = privatePrefix(run);
    const queues = queuesOf(prefix);
    const pool = poolOf(products.url);
    cleanup.push(() => pool.end());
    await sql(products.url, "UPDATE outbox SET published_at = now() WHERE published_at IS NULL");
    // A short lock: the dead worker's job goes back to the queue seconds after the crash, not BullMQ's 30 s.
    const lock = { EVENTS_LOCK_DURATION: "2s" };
    track(await startWorker({ service: "products", databaseUrl: products.url, run, prefix }));
    const doomed = track(
      await startWorker({
        service: "search",
        databaseUrl: search.url,
        run,
        prefix,
        env: { ...lock, EVENTS_FAULT_POINT: "consumer:after-commit" },
      }),
    );

    const { productId, messageId } = await commitProduct(pool, "Committed, never acknowledged");
    expect(await doomed.process.exited).toBeNull();
    expect(doomed.process.child.signalCode).toBe("SIGKILL");
    expect(doomed.process.output()).toContain("fault injection: SIGKILL at consumer:after-commit");
    // The effect and the inbox row committed; BullMQ still holds the job as active (never completed).
    const inbox = () => sql(search.url, "SELECT count(*)::int AS n FROM inbox WHERE message_id = $1", [messageId]);
    expect(await inbox()).toEqual([{ n: 1 }]);
    expect(await sql(search.url, "SELECT name, product_version FROM search_documents WHERE product_id = $1", [productId])).toEqual([
      { name: "Committed, never acknowledged", product_version: 1 },
    ]);
    expect(await queues.search.getJobState(messageId)).toBe("active");

    // A new worker: the lapsed lock sends the job back, the inbox knows it, the handler does not run again.
    const survivor = track(await startWorker({ service: "search", databaseUrl: search.url, run, prefix, env: lock }));
    await waitFor(async () => (await queues.search.getJobState(messageId)) === "completed", "the redelivered job to complete", 60_000);
    const consumed = await (await fetch(`${survivor.origin}/metrics`)).text();
    const outcome = (name: string) =>
      consumed
        .split("\n")
        .filter((l) => l.startsWith("events_consumed_total{") && l.includes('queue="events.search"') && l.includes(`outcome="${name}"`))
        .reduce((n, l) => n + Number(l.split(" ").at(-1)), 0);
    expect(outcome("duplicate")).toBe(1);
    expect(outcome("applied")).toBe(0);
    expect(await inbox()).toEqual([{ n: 1 }]);
    expect(await sql(search.url, "SELECT count(*)::int AS n FROM search_documents WHERE product_id = $1", [productId])).toEqual([{ n: 1 }]);
    expect(await jobsWithId(queues.search, messageId)).toBe(1);
  });

  it("finishes the job in hand on SIGTERM: its effect commits once, the job completes, then exit 0", async () => {
    const prefix = privatePrefix(run);
    const queues = queuesOf(prefix);
    const worker = track(await startWorker({ service: "search", databaseUrl: search.url, run, prefix }));
    const productId = randomUUID();
    const message = makeMessage("product.created.v1", productId, 1, {
      productId,
      sku: "SIG-0001",
      name: "Finished before exit",
      description: "Was in hand at SIGTERM.",
      priceAmount: 1999,
      currency: "USD",
      categoryId: randomUUID(),
    });
    // The test holds the message's inbox key in an open transaction: the worker's transaction waits on it, so the
    // job is in hand, for certain, when the signal arrives.
    const blocker = new pg.Client(parsePgUrl(search.url));
    await blocker.connect();
    cleanup.push(() => blocker.end());
    await blocker.query("BEGIN");
    await blocker.query("INSERT INTO inbox (consumer, message_id, type) VALUES ($1, $2, $3)", [
      eventQueueName("search"),
      message.id,
      message.type,
    ]);
    await queues.search.add(message.type, message, { jobId: message.id, attempts: 3, backoff: { type: "fixed", delay: 50 } });
    await waitFor(
      async () =>
        (await queues.search.getJobState(message.id)) === "active" &&
        (
          await sql<{ n: number }>(
            search.url,
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
          )
        )[0]!.n > 0,
      "the worker's transaction to wait on the held inbox key",
    );

    worker.process.child.kill("SIGTERM");
    // Draining: not ready any more, still running, the job still in hand.
    await waitFor(async () => (await fetch(`${worker.origin}/health/ready`)).status === 503, "readiness to turn false");
    expect(worker.process.child.exitCode).toBeNull();
    expect(await queues.search.getJobState(message.id)).toBe("active");

    await blocker.query("ROLLBACK");
    expect(await worker.process.exited).toBe(0);
    const job = await queues.search.getJob(message.id);
    expect(await job!.getState()).toBe("completed");
    expect(job!.failedReason).toBeFalsy();
    expect(job!.stalledCounter ?? 0).toBe(0);
    expect(await sql(search.url, "SELECT count(*)::int AS n FROM inbox WHERE message_id = $1", [message.id])).toEqual([{ n: 1 }]);
    expect(await sql(search.url, "SELECT name FROM search_documents WHERE product_id = $1", [productId])).toEqual([
      { name: "Finished before exit" },
    ]);
    expect(worker.process.output()).toContain('"msg":"message applied"');
    expect(worker.process.output()).toContain('"msg":"stopped"');
  });

  it("stops gracefully on SIGTERM: exit 0, readiness off first", async () => {
    const prefix = privatePrefix(run);
    const worker = track(await startWorker({ service: "search", databaseUrl: search.url, run, prefix }));
    expect((await fetch(`${worker.origin}/health/ready`)).status).toBe(200);
    const metrics = await (await fetch(`${worker.origin}/metrics`)).text();
    expect(metrics).toContain('queue_jobs{queue="events.search",state="waiting"');
    worker.process.child.kill("SIGTERM");
    expect(await worker.process.exited).toBe(0);
    expect(worker.process.output()).toContain('"msg":"stopped"');
  });
});
