/**
 * Payments as a participant of the checkout saga: the charge and refund commands through a real consumer (BullMQ,
 * inbox), each delivered twice in a shuffled order, on a real database: one payment per key, a refund that reaches
 * payments before its charge voids it and the late charge is refused, and every outcome has its reply event.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { commandQueueName, pgDatabase } from "@ecom/events";
import { deliver, makeMessage, twiceShuffled } from "@ecom/events/testing";
import { createTestDatabase, sql, type TestDatabase } from "@ecom/testing";
import { createCheckoutHandlers } from "../src/consumers/checkout.ts";
import { createDatabase, type Database } from "../src/datasources/prisma.ts";

const run = inject("testRun");

describe("payments checkout participant", { timeout: 90_000 }, () => {
  let testDb: TestDatabase;
  let db: Database;
  beforeAll(async () => {
    testDb = await createTestDatabase(run, "payments");
    db = createDatabase(testDb.url);
  });
  afterAll(async () => {
    await db?.close();
    await testDb?.drop();
  });

  const send = (messages: Parameters<typeof deliver>[0]["messages"]) =>
    deliver({
      queue: commandQueueName("payments"),
      // Plain pg transactions, as the worker runs them (src/worker.ts).
      db: pgDatabase(db.pool),
      handlers: createCheckoutHandlers(),
      redisUrl: run.redisUrl,
      prefix: `${run.redisPrefix}pc${randomBytes(3).toString("hex")}`,
      messages,
    });
  const charge = (orderId: string, paymentToken = "tok_visa", amount = 4200) =>
    makeMessage("payment.charge.v1", orderId, 1, {
      orderId,
      buyerId: "00000000-0000-4000-8000-000000000001",
      amount,
      currency: "USD",
      paymentToken,
      idempotencyKey: `order:${orderId}:charge`,
    });
  const refund = (orderId: string) =>
    makeMessage("payment.refund.v1", orderId, 2, { orderId, chargeKey: `order:${orderId}:charge`, refundKey: `order:${orderId}:refund` });
  const replies = async (orderId: string) =>
    (await sql<{ type: string }>(testDb.url, "SELECT type FROM outbox WHERE payload->>'orderId' = $1 ORDER BY seq", [orderId])).map(
      (r) => r.type,
    );
  const paymentsOf = (orderId: string) =>
    sql<{ status: string }>(testDb.url, "SELECT status::text AS status FROM payments WHERE order_id = $1", [orderId]);

  it("charges once however often the command arrives, and refunds once", async () => {
    const orderId = randomUUID();
    // Two distinct commands with one key (a saga resending), each delivered twice (a redelivery).
    await send(twiceShuffled([charge(orderId), charge(orderId)]));
    expect(await paymentsOf(orderId)).toEqual([{ status: "CAPTURED" }]);
    await send(twiceShuffled([refund(orderId)]));
    expect(await paymentsOf(orderId)).toEqual([{ status: "REFUNDED" }]);
    expect(await replies(orderId)).toEqual(["payment.captured.v1", "payment.refunded.v1"]);
  });

  it("voids a charge whose refund arrives first, and refuses the late charge", async () => {
    const orderId = randomUUID();
    await send([refund(orderId)]);
    await send([charge(orderId)]);
    expect(await paymentsOf(orderId)).toEqual([]);
    expect(await replies(orderId)).toEqual(["payment.voided.v1", "payment.rejected.v1"]);
  });

  it("answers a declined charge with payment.declined.v1 and its refund with nothing to refund", async () => {
    const orderId = randomUUID();
    await send([charge(orderId, "tok_chargeDeclined")]);
    await send([refund(orderId)]);
    expect(await paymentsOf(orderId)).toEqual([{ status: "DECLINED" }]);
    expect(await replies(orderId)).toEqual(["payment.declined.v1", "payment.voided.v1"]);
  });

  it("answers a charge the provider refuses (amount over its limit) with payment.rejected.v1, charging nothing", async () => {
    const orderId = randomUUID();
    await send([charge(orderId, "tok_visa", 20_000_000)]);
    expect(await paymentsOf(orderId)).toEqual([]);
    expect(await replies(orderId)).toEqual(["payment.rejected.v1"]);
  });
});
