/**
 * `npm run events -- dlq list|show|replay` against a real search worker process: a malformed event is dead-lettered
 * with its reason while the worker keeps going, the operator lists and inspects it, replays it with a corrected
 * payload, and the worker applies it once.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { Queue } from "bullmq";
import { afterAll, describe, expect, inject, it } from "vitest";
import { eventQueueName } from "@ecom/events";
import { createTestDatabase, ROOT_DIR, sql } from "@ecom/testing";
import { privatePrefix, startWorker, waitFor, type Worker } from "./support.ts";

const run = inject("testRun");
const tsx = createRequire(import.meta.url).resolve("tsx/cli");

function events(prefix: string, ...args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [tsx, "scripts/events.ts", ...args], {
      cwd: ROOT_DIR,
      env: { ...process.env, REDIS_URL: run.redisUrl, QUEUE_PREFIX: prefix },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("exit", (code) => resolve({ code, out }));
  });
}

describe("npm run events -- dlq", { timeout: 180_000 }, () => {
  const workers: Worker[] = [];
  afterAll(async () => {
    await Promise.allSettled(workers.map((w) => w.process.stop(2000)));
  });

  it("lists, shows and replays a dead letter, which the worker then applies once", async () => {
    await using db = await createTestDatabase(run, "search");
    const prefix = privatePrefix(run);
    const queue = new Queue(eventQueueName("search"), { connection: { url: run.redisUrl }, prefix });
    try {
      const worker = await startWorker({ service: "search", databaseUrl: db.url, run, prefix });
      workers.push(worker);
      const productId = randomUUID();
      const payload = {
        productId,
        sku: "DLQ-0001",
        name: "Replayed lamp",
        description: "Fixed by an operator.",
        priceAmount: 1200,
        currency: "USD",
        categoryId: "00000000-0000-4000-8000-00000000c001",
      };
      const id = randomUUID();
      const envelope = {
        id,
        type: "product.created.v1",
        aggregateType: "product",
        aggregateId: productId,
        aggregateVersion: 1,
        occurredAt: new Date().toISOString(),
        correlationId: "corr-dlq-cli",
        causationId: null,
        producer: "products",
        payload: { ...payload, priceAmount: "twelve" },
      };
      await queue.add(envelope.type, envelope, { jobId: id, attempts: 3, removeOnFail: false });
      await waitFor(async () => (await queue.getFailedCount()) === 1, "the malformed event to be dead-lettered");
      expect(worker.process.child.exitCode).toBeNull();
      expect(
        (await fetch(`${worker.origin}/metrics`).then((r) => r.text())).match(
          /events_dead_lettered_total\{[^}]*reason="malformed"[^}]*\} 1/,
        ),
      ).not.toBeNull();

      const list = await events(prefix, "dlq", "list");
      expect(list.code, list.out).toBe(0);
      expect(list.out).toContain(id);
      expect(list.out).toMatch(
        /events\.search\s+\S+\s+product\.created\.v1\s+1\s+\S+\s+malformed message: invalid product\.created\.v1 payload: payload\.priceAmount/,
      );

      const show = await events(prefix, "dlq", "show", id);
      expect(show.code, show.out).toBe(0);
      expect(show.out).toContain("correlation: corr-dlq-cli");
      expect(show.out).toContain('"priceAmount": "twelve"');

      const refused = await events(prefix, "dlq", "replay", id, "--payload", JSON.stringify({ ...payload, currency: "dollars" }));
      expect(refused.code).toBe(1);
      expect(refused.out).toContain("not a valid product.created.v1");
      expect(await queue.getFailedCount()).toBe(1);

      const replay = await events(prefix, "dlq", "replay", id, "--payload", JSON.stringify(payload));
      expect(replay.code, replay.out).toBe(0);
      expect(replay.out).toContain(`replayed ${id} in events.search with the corrected payload`);
      const doc = await waitFor(
        async () => (await sql(db.url, "SELECT name, price_amount FROM search_documents WHERE product_id = $1", [productId]))[0],
        "the replayed event to be applied",
      );
      expect(doc).toEqual({ name: "Replayed lamp", price_amount: 1200 });
      expect(await sql(db.url, "SELECT count(*)::int AS n FROM inbox WHERE message_id = $1", [id])).toEqual([{ n: 1 }]);
      const after = await events(prefix, "dlq", "list");
      expect(after.out).toContain("no dead letters");
      const unknown = await events(prefix, "dlq", "show", randomUUID());
      expect(unknown.code).toBe(1);
    } finally {
      await queue.close();
    }
  });
});
