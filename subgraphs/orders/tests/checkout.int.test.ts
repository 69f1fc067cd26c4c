/**
 * The checkout saga end to end with real worker processes (orders orchestrator, inventory and payments
 * participants, notifications), real Postgres, Redis and BullMQ: the happy path, a declined payment and missing
 * stock, each step a timeline entry, stock and money consistent afterwards.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { sql } from "@ecom/testing";
import { startCheckoutStack, waitFor, type CheckoutStack } from "./checkout-support.ts";

const run = inject("testRun");

describe("checkout saga (real worker processes)", { timeout: 180_000 }, () => {
  let stack: CheckoutStack;
  beforeAll(async () => {
    stack = await startCheckoutStack(run);
  }, 240_000);
  afterAll(async () => {
    await stack?.close();
  });

  const stock = async (productId: string) =>
    (
      await sql<{ on_hand: number; reserved: number }>(
        stack.dbs.inventory.url,
        "SELECT on_hand, reserved FROM stock_items WHERE product_id = $1",
        [productId],
      )
    )[0];
  const payments = (orderId: string) =>
    sql<{ status: string; amount: number }>(
      stack.dbs.payments.url,
      "SELECT status::text AS status, amount FROM payments WHERE order_id = $1",
      [orderId],
    );

  it("confirms a paid order: stock reserved, payment captured, reservation confirmed, each step on the timeline", async () => {
    const buyer = await stack.seedBuyer();
    const lamp = await stack.seedProduct(5, 1250);
    const orderId = await stack.place(buyer, [{ product: lamp, quantity: 2 }], "tok_visa");
    await stack.waitForStatus(orderId, "CONFIRMED");
    expect((await stack.timeline(orderId)).map((e) => `${e.step} ${e.status}`)).toEqual([
      "order PLACED",
      "inventory RESERVED",
      "payment CAPTURED",
      "inventory CONFIRMED",
      "order CONFIRMED",
    ]);
    expect(await stock(lamp.id)).toEqual({ on_hand: 3, reserved: 0 });
    expect(await payments(orderId)).toEqual([{ status: "CAPTURED", amount: 2500 }]);
    const subjects = await waitFor(async () => {
      const rows = await sql<{ subject: string }>(stack.dbs.notifications.url, "SELECT subject FROM notifications WHERE user_id = $1", [
        buyer,
      ]);
      return rows.length >= 3 ? rows.map((r) => r.subject) : null;
    }, "the buyer's notifications");
    expect(subjects.some((s) => /confirmed/i.test(s))).toBe(true);
  });

  it("cancels an order whose payment is declined and gives its reserved stock back", async () => {
    const buyer = await stack.seedBuyer();
    const chair = await stack.seedProduct(4);
    const orderId = await stack.place(buyer, [{ product: chair, quantity: 3 }], "tok_chargeDeclined");
    await stack.waitForStatus(orderId, "CANCELLED");
    const timeline = await stack.timeline(orderId);
    expect(timeline.map((e) => `${e.step} ${e.status}`)).toEqual([
      "order PLACED",
      "inventory RESERVED",
      "payment DECLINED",
      "inventory RELEASED",
      "order CANCELLED",
    ]);
    expect(timeline.at(-1)!.detail).toBe("payment declined (card_declined)");
    expect(await stock(chair.id)).toEqual({ on_hand: 4, reserved: 0 });
    expect(await payments(orderId)).toEqual([{ status: "DECLINED", amount: 3000 }]);
  });

  it("cancels an order for more than the stock, charging nothing", async () => {
    const buyer = await stack.seedBuyer();
    const desk = await stack.seedProduct(1);
    const other = await stack.seedProduct(10);
    const orderId = await stack.place(
      buyer,
      [
        { product: other, quantity: 1 },
        { product: desk, quantity: 2 },
      ],
      "tok_visa",
    );
    await stack.waitForStatus(orderId, "CANCELLED");
    const timeline = await stack.timeline(orderId);
    expect(timeline.map((e) => `${e.step} ${e.status}`)).toEqual(["order PLACED", "inventory OUT_OF_STOCK", "order CANCELLED"]);
    expect(timeline.at(-1)!.detail).toContain(`out of stock: ${desk.id} (wanted 2, available 1)`);
    expect(await stock(desk.id)).toEqual({ on_hand: 1, reserved: 0 });
    expect(await stock(other.id)).toEqual({ on_hand: 10, reserved: 0 });
    expect(await payments(orderId)).toEqual([]);
  });
});
