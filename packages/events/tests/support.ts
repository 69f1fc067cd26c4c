/** Test support: a scratch database with the outbox and inbox tables, a private BullMQ prefix, waiting helpers. */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import pg from "pg";
import { createLogger, createMetrics } from "@ecom/observability";
import { formatPgUrl, parsePgUrl, quoteIdent, withPgClient } from "@ecom/db";
import type { TestRunInfo } from "@ecom/testing";
import { EVENT_TABLES_SQL } from "../src/index.ts";

/** A database of its own with the event tables and an `effects` table handlers write to. */
export interface ScratchDatabase extends AsyncDisposable {
  url: string;
  pool: pg.Pool;
}

export async function createScratchDatabase(run: TestRunInfo): Promise<ScratchDatabase> {
  const admin = parsePgUrl(run.adminUrl);
  const name = `${run.prefix}_events_${randomBytes(4).toString("hex")}`;
  await withPgClient(admin, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
  const url = formatPgUrl({ ...admin, database: name });
  const pool = new pg.Pool({ ...parsePgUrl(url), max: 12 });
  pool.on("error", () => {});
  await pool.query(EVENT_TABLES_SQL);
  await pool.query(
    `CREATE TABLE effects (message_id uuid NOT NULL, aggregate_id text NOT NULL, version int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())`,
  );
  return {
    url,
    pool,
    [Symbol.asyncDispose]: async () => {
      await pool.end().catch(() => {});
      await withPgClient(admin, (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
    },
  };
}

/** A BullMQ key prefix of its own under the run's Redis prefix (deleted with the run). */
export const privatePrefix = (run: TestRunInfo) => `${run.redisPrefix}ev${randomBytes(3).toString("hex")}`;

/** A Redis connection for queues (fails fast while Redis is away). */
export function redisOf(run: TestRunInfo): Redis {
  return new Redis(run.redisUrl, { maxRetriesPerRequest: 3 });
}

/** A quiet logger and a fresh registry. */
export function quietObservability(service = "events-test") {
  return { logger: createLogger({ service, level: "silent" }), metrics: createMetrics({ service, defaultMetrics: false }) };
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
