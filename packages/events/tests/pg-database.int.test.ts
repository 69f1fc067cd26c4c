/** pgDatabase's `{ maxWait, timeout }` against real Postgres: the bounds Prisma's interactive transactions have. */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parsePgUrl } from "@ecom/db";
import { isTransactionTimeout, pgDatabase, type TransactionTimeoutError } from "../src/index.ts";
import { createScratchDatabase, waitFor, type ScratchDatabase } from "./support.ts";

const run = inject("testRun");

describe("pgDatabase transaction bounds", () => {
  let db: ScratchDatabase;
  beforeAll(async () => {
    db = await createScratchDatabase(run);
  });
  afterAll(async () => {
    await db?.[Symbol.asyncDispose]();
  });

  const effects = async (aggregateId: string) =>
    Number((await db.pool.query("SELECT count(*) FROM effects WHERE aggregate_id = $1", [aggregateId])).rows[0].count);
  const insertEffect = (aggregateId: string) =>
    `INSERT INTO effects (message_id, aggregate_id, version) VALUES ('${randomUUID()}', '${aggregateId}', 1)`;
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error("expected the transaction to fail");
      },
      (error: unknown) => error,
    );

  it("a transaction still open after its timeout is rolled back, its statement cancelled, its connection not reused", async () => {
    const id = randomUUID();
    const database = pgDatabase(db.pool);
    let pid = 0;
    const error = await failure(
      database.$transaction(
        async (tx) => {
          pid = (await tx.$queryRawUnsafe<Array<{ pid: number }>>("SELECT pg_backend_pid() AS pid"))[0]!.pid;
          await tx.$executeRawUnsafe(insertEffect(id));
          // No server-side limit: only pgDatabase's timeout can end this statement before a minute.
          await tx.$executeRawUnsafe("SET LOCAL statement_timeout = 0");
          await tx.$queryRawUnsafe("SELECT pg_sleep(60)");
          await tx.$executeRawUnsafe(insertEffect(id));
        },
        { timeout: 1_000 },
      ),
    );
    expect(isTransactionTimeout(error)).toBe(true);
    expect((error as TransactionTimeoutError).code).toBe("TRANSACTION_TIMEOUT");
    expect((error as Error).message).toMatch(/rolled back.*timeout \(1000 ms\)/);
    // The backend is gone (statement cancelled, session closed): its transaction rolled back, its locks released.
    await waitFor(
      async () => (await db.pool.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [pid])).rowCount === 0,
      "the timed-out backend to end",
      10_000,
    );
    expect(await effects(id)).toBe(0);
    // The pool did not get the mid-transaction connection back: a new transaction runs on another backend.
    const next = await database.$transaction(async (tx) => {
      await tx.$executeRawUnsafe(insertEffect(id));
      return (await tx.$queryRawUnsafe<Array<{ pid: number }>>("SELECT pg_backend_pid() AS pid"))[0]!.pid;
    });
    expect(next).not.toBe(pid);
    expect(await effects(id)).toBe(1);
  });

  it("waiting longer than maxWait for a connection fails clearly, and the connection that comes later is not leaked", async () => {
    const pool = new pg.Pool({ ...parsePgUrl(db.url), max: 1 });
    pool.on("error", () => {});
    try {
      const database = pgDatabase(pool);
      const id = randomUUID();
      const held = await pool.connect();
      let ran = false;
      const error = await failure(
        database.$transaction(
          async (tx) => {
            ran = true;
            await tx.$executeRawUnsafe(insertEffect(id));
          },
          { maxWait: 200, timeout: 5_000 },
        ),
      );
      expect((error as TransactionTimeoutError).code).toBe("TRANSACTION_MAX_WAIT");
      expect((error as Error).message).toMatch(/maxWait \(200 ms\).*max 1/);
      expect(ran).toBe(false);
      // A late acquire still queued behind the held connection: it must go back to the pool, or this one-connection
      // pool would hang every later transaction.
      const late = database.$transaction(async (tx) => tx.$queryRawUnsafe("SELECT 1"), { maxWait: 50 }).catch((e: unknown) => e);
      held.release();
      await late;
      await database.$transaction((tx) => tx.$executeRawUnsafe(insertEffect(id)), { maxWait: 5_000 });
      expect(await effects(id)).toBe(1);
      expect(pool.totalCount).toBe(1);
    } finally {
      await pool.end();
    }
  });

  it("a transaction within its bounds commits, and one whose fn throws rolls back with fn's error", async () => {
    const id = randomUUID();
    const database = pgDatabase(db.pool);
    const options = { maxWait: 5_000, timeout: 5_000 };
    expect(await database.$transaction((tx) => tx.$executeRawUnsafe(insertEffect(id)), options)).toBe(1);
    const error = await failure(
      database.$transaction(async (tx) => {
        await tx.$executeRawUnsafe(insertEffect(id));
        throw new Error("handler failed");
      }, options),
    );
    expect((error as Error).message).toBe("handler failed");
    expect(await effects(id)).toBe(1);
    // Its connection went back to the pool idle, out of its transaction: nothing is left open on it.
    const open = await db.pool.query(
      "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
    );
    expect(Number(open.rows[0].count)).toBe(0);
  });
});
