/** Real worker processes for the events integration tests, over a test's databases and a private BullMQ prefix. */
import { randomBytes, randomUUID } from "node:crypto";
import path from "node:path";
import type { Queue } from "bullmq";
import { createOutbox, pgDatabase } from "@ecom/events";
import { ROOT_DIR, startProcess, type RunningProcess, type TestRunInfo } from "@ecom/testing";
import pg from "pg";
import { parsePgUrl } from "@ecom/db";

/** A BullMQ prefix of the test's own (its keys go with the run's). */
export const privatePrefix = (run: TestRunInfo) => `${run.redisPrefix}ev${randomBytes(3).toString("hex")}`;

/** Options of {@link startWorker}. */
export interface WorkerOptions {
  service: "products" | "search" | "inventory" | "notifications" | "users" | "orders" | "payments";
  databaseUrl: string;
  run: TestRunInfo;
  prefix: string;
  env?: Record<string, string>;
  /** Wait for the "ready" line. @default true */
  waitReady?: boolean;
}

/** A worker process and the origin of its health/metrics listener. */
export interface Worker {
  process: RunningProcess;
  origin: string;
}

/**
 * Starts `subgraphs/<service>/src/worker.ts` with node's tsx loader (no tsx CLI in between: a SIGKILL the worker
 * gives itself is the exit the test sees) and resolves once it logged "<service> worker ready".
 */
export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const proc = await startProcess({
    name: `${options.service} worker`,
    command: process.execPath,
    args: ["--import", "tsx", "src/worker.ts"],
    cwd: path.join(ROOT_DIR, "subgraphs", options.service),
    env: {
      NODE_ENV: "test",
      LOG_LEVEL: "info",
      HOST: "127.0.0.1",
      PORT: "0",
      DATABASE_URL: options.databaseUrl,
      REDIS_URL: options.run.redisUrl,
      QUEUE_PREFIX: options.prefix,
      RELAY_POLL_INTERVAL: "100ms",
      EVENTS_BACKOFF: "50ms",
      EVENTS_ATTEMPTS: "3",
      ...options.env,
    },
  });
  if (options.waitReady === false) return { process: proc, origin: "" };
  const url = await readyUrl(proc, `${options.service} worker ready`);
  return { process: proc, origin: url };
}

/** Waits for a pino line `msg` with a `url`, failing with the output when the process exits first. */
export async function readyUrl(proc: RunningProcess, msg: string, timeoutMs = 90_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc.exited.then(() => (exited = true));
  for (;;) {
    for (const line of proc.output().split("\n")) {
      if (!line.includes(msg)) continue;
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === msg && entry.url) return entry.url;
      } catch {
        // partial line
      }
    }
    if (exited) throw new Error(`${proc.name} exited before it was ready:\n${proc.output()}`);
    if (Date.now() > deadline) throw new Error(`${proc.name} not ready within ${timeoutMs} ms:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Polls `check` until it is truthy (not a sleep: a condition), failing after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T | undefined | false | null>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false && value !== null) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A pool on a test database (closed by the caller). */
export function poolOf(url: string): pg.Pool {
  const pool = new pg.Pool({ ...parsePgUrl(url), max: 8 });
  pool.on("error", () => {});
  return pool;
}

const productsOutbox = createOutbox({ producer: "products" });

/** Commits a new product and its product.created.v1 in one transaction, as the products subgraph does. */
export async function commitProduct(pool: pg.Pool, name = "Crash-tested lamp"): Promise<{ productId: string; messageId: string }> {
  return pgDatabase(pool).$transaction(async (tx) => {
    const { rows } = await tx.client.query<{ id: string }>(
      "INSERT INTO categories (id, name, slug) VALUES (gen_random_uuid(), 'Crash tests', $1) RETURNING id::text",
      [`crash-${randomBytes(4).toString("hex")}`],
    );
    const categoryId = rows[0]!.id;
    const productId = randomUUID();
    const sku = `CRS-${randomBytes(2).toString("hex").toUpperCase()}`;
    await tx.client.query(
      "INSERT INTO products (id, sku, name, description, price_amount, currency, category_id) VALUES ($1, $2, $3, $4, 1999, 'USD', $5)",
      [productId, sku, name, "Survives crashes.", categoryId],
    );
    const message = await productsOutbox.write(tx, {
      type: "product.created.v1",
      aggregateId: productId,
      payload: { productId, sku, name, description: "Survives crashes.", priceAmount: 1999, currency: "USD", categoryId },
    });
    return { productId, messageId: message.id };
  });
}

/** The jobs of `queue` with id `jobId` in any state (0 or 1: BullMQ keys jobs by id). */
export async function jobsWithId(queue: Queue, jobId: string): Promise<number> {
  const all = await queue.getJobs(["waiting", "active", "delayed", "completed", "failed", "prioritized"], 0, -1);
  return all.filter((j) => j?.id === jobId).length;
}

/** `outbox_published_total` summed over types, from a worker's /metrics. */
export async function publishedBy(worker: Worker): Promise<number> {
  const text = await (await fetch(`${worker.origin}/metrics`)).text();
  return [...text.matchAll(/^outbox_published_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
}
