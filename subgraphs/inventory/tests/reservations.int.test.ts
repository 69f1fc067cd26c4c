/**
 * TCC reservations on a real database: try / confirm / cancel, idempotent; a cancel before its try leaves a
 * marker that refuses the late try; concurrent tries for the last units; and the worker's job scheduler releasing
 * an expired reservation (a real worker process, real Redis and BullMQ).
 */
import { randomBytes, randomUUID } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { pgDatabase, type SqlTransaction } from "@ecom/events";
import { createTestDatabase, getFreePort, ROOT_DIR, sql, startProcess, type TestDatabase } from "@ecom/testing";
import { createDatabase, type Database } from "../src/datasources/prisma.ts";
import { ReservationsRepository } from "../src/datasources/reservations.ts";

const run = inject("testRun");

describe("TCC stock reservations", { timeout: 120_000 }, () => {
  let testDb: TestDatabase;
  let db: Database;
  beforeAll(async () => {
    testDb = await createTestDatabase(run, "inventory");
    db = createDatabase(testDb.url);
  });
  afterAll(async () => {
    await db?.close();
    await testDb?.drop();
  });

  const seed = async (onHand: number) => {
    const id = randomUUID();
    await sql(testDb.url, "INSERT INTO stock_items (product_id, on_hand, reserved, version, updated_at) VALUES ($1, $2, 0, 0, now())", [
      id,
      onHand,
    ]);
    return id;
  };
  const stock = async (id: string) =>
    (
      await sql<{ on_hand: number; reserved: number }>(testDb.url, "SELECT on_hand, reserved FROM stock_items WHERE product_id = $1", [id])
    )[0];
  // Plain pg transactions, as the worker runs them (src/worker.ts).
  const tx = <T>(fn: (t: SqlTransaction) => Promise<T>) => pgDatabase(db.pool).$transaction(fn);
  const reserve = (reservationId: string, productId: string, quantity: number, ttlMs = 60_000) =>
    tx((t) => ReservationsRepository.reserve(t, { reservationId, orderId: reservationId, items: [{ productId, quantity }], ttlMs }));
  const cancel = (reservationId: string) =>
    tx((t) => ReservationsRepository.cancel(t, { reservationId, orderId: reservationId, reason: "test" }));
  const confirm = (reservationId: string) => tx((t) => ReservationsRepository.confirm(t, reservationId));

  it("holds on try, deducts on confirm, and answers repeats with what was done", async () => {
    const product = await seed(5);
    const id = randomUUID();
    expect((await reserve(id, product, 2)).kind).toBe("reserved");
    expect(await stock(product)).toEqual({ on_hand: 5, reserved: 2 });
    expect((await reserve(id, product, 2)).kind).toBe("reserved");
    expect(await stock(product)).toEqual({ on_hand: 5, reserved: 2 });
    expect(await confirm(id)).toEqual({ kind: "confirmed" });
    expect(await confirm(id)).toEqual({ kind: "confirmed" });
    expect(await stock(product)).toEqual({ on_hand: 3, reserved: 0 });
  });

  it("gives held stock back on cancel, once, and refuses a confirm after it", async () => {
    const product = await seed(5);
    const id = randomUUID();
    await reserve(id, product, 3);
    expect(await cancel(id)).toEqual({ returned: "held" });
    expect(await cancel(id)).toEqual({ returned: "none" });
    expect(await stock(product)).toEqual({ on_hand: 5, reserved: 0 });
    expect(await confirm(id)).toMatchObject({ kind: "rejected", reason: "cancelled" });
    expect(await stock(product)).toEqual({ on_hand: 5, reserved: 0 });
  });

  it("refuses a late try after its cancel (the cancel left a marker) and holds nothing", async () => {
    const product = await seed(5);
    const id = randomUUID();
    expect(await cancel(id)).toEqual({ returned: "none" });
    const late = await reserve(id, product, 1);
    expect(late).toMatchObject({ kind: "rejected", reason: "cancelled" });
    expect(await stock(product)).toEqual({ on_hand: 5, reserved: 0 });
    const [marker] = await sql<{ status: string }>(testDb.url, "SELECT status::text AS status FROM reservations WHERE id = $1", [id]);
    expect(marker).toEqual({ status: "CANCELLED" });
  });

  it("puts deducted stock back when a confirmed reservation is cancelled", async () => {
    const product = await seed(4);
    const id = randomUUID();
    await reserve(id, product, 4);
    await confirm(id);
    expect(await stock(product)).toEqual({ on_hand: 0, reserved: 0 });
    expect(await cancel(id)).toEqual({ returned: "deducted" });
    expect(await stock(product)).toEqual({ on_hand: 4, reserved: 0 });
  });

  it("reserves the last K units for exactly K of N concurrent tries, never below zero", async () => {
    const product = await seed(4);
    const results = await Promise.all(Array.from({ length: 16 }, () => reserve(randomUUID(), product, 1)));
    expect(results.filter((r) => r.kind === "reserved")).toHaveLength(4);
    expect(results.filter((r) => r.kind === "rejected" && r.reason === "out_of_stock")).toHaveLength(12);
    expect(await stock(product)).toEqual({ on_hand: 4, reserved: 4 });
  });

  it("refuses a confirm after expiry and releases the stock", async () => {
    const product = await seed(2);
    const id = randomUUID();
    await reserve(id, product, 2, 1000);
    await sql(testDb.url, "UPDATE reservations SET expires_at = now() - interval '1 second' WHERE id = $1", [id]);
    expect(await confirm(id)).toMatchObject({ kind: "rejected", reason: "expired" });
    expect(await stock(product)).toEqual({ on_hand: 2, reserved: 0 });
  });

  it("has its expired reservations released by the worker's job scheduler", async () => {
    const product = await seed(3);
    const id = randomUUID();
    await reserve(id, product, 3, 1500);
    expect(await stock(product)).toEqual({ on_hand: 3, reserved: 3 });
    const port = await getFreePort();
    const worker = await startProcess({
      name: "inventory worker",
      command: process.execPath,
      args: ["--import", "tsx", "src/worker.ts"],
      cwd: path.join(ROOT_DIR, "subgraphs", "inventory"),
      env: {
        NODE_ENV: "test",
        LOG_LEVEL: "info",
        HOST: "127.0.0.1",
        PORT: String(port),
        DATABASE_URL: testDb.url,
        REDIS_URL: run.redisUrl,
        QUEUE_PREFIX: `${run.redisPrefix}rx${randomBytes(3).toString("hex")}`,
        RESERVATION_SWEEP_INTERVAL: "500ms",
      },
    });
    try {
      const deadline = Date.now() + 90_000;
      let row: { status: string } | undefined;
      while (Date.now() < deadline) {
        [row] = await sql<{ status: string }>(testDb.url, "SELECT status::text AS status FROM reservations WHERE id = $1", [id]);
        if (row?.status === "EXPIRED") break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(row, worker.output().slice(-3000)).toEqual({ status: "EXPIRED" });
      expect(await stock(product)).toEqual({ on_hand: 3, reserved: 0 });
      expect(worker.output()).toContain("expired reservations released");
      const [released] = await sql<{ n: number }>(
        testDb.url,
        "SELECT count(*)::int AS n FROM outbox WHERE type = 'stock.changed.v1' AND aggregate_id = $1 AND payload->>'reason' = 'released'",
        [product],
      );
      expect(released).toEqual({ n: 1 });
    } finally {
      await worker.stop(3000);
    }
  });
});
