/**
 * The checkout saga end to end with real worker processes (orders orchestrator, inventory and payments
 * participants, notifications), real Postgres, Redis and BullMQ: the happy path, a declined payment and missing
 * stock, each step a timeline entry, stock and money consistent afterwards.
 */
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ROOT_DIR, sql } from "@ecom/testing";
import { startCheckoutStack, waitFor, type CheckoutStack } from "./checkout-support.ts";

const run = inject("testRun");
const tsx = createRequire(import.meta.url).resolve("tsx/cli");
/** `npm run saga -- <args>` over the stack's orders database. */
const sagaCli = (url: string, ...args: string[]) =>
  promisify(execFile)(process.execPath, [tsx, "scripts/saga.ts", ...args], {
    cwd: ROOT_DIR,
    env: { ...process.env, ORDERS_DATABASE_URL: url },
  });

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

  it("confirms exactly K of N parallel orders for the last K units: stock ends at 0 and is never negative", async () => {
    const K = 3;
    const N = 12;
    const last = await stack.seedProduct(K);
    const buyers = await Promise.all(Array.from({ length: N }, () => stack.seedBuyer()));
    const orderIds = await Promise.all(buyers.map((buyer) => stack.place(buyer, [{ product: last, quantity: 1 }], "tok_visa")));
    const statuses = await waitFor(
      async () => {
        const all = await Promise.all(orderIds.map((id) => stack.status(id)));
        return all.every((s) => s !== "PENDING") ? all : null;
      },
      "every order to finish",
      120_000,
    );
    expect(statuses.filter((s) => s === "CONFIRMED")).toHaveLength(K);
    expect(statuses.filter((s) => s === "CANCELLED")).toHaveLength(N - K);
    expect(await stock(last.id)).toEqual({ on_hand: 0, reserved: 0 });
    // Every stock level inventory announced along the way (each change is an outbox row) stayed within bounds.
    const levels = await sql<{ available: number; reserved: number; on_hand: number }>(
      stack.dbs.inventory.url,
      `SELECT (payload->>'available')::int AS available, (payload->>'reserved')::int AS reserved, (payload->>'onHand')::int AS on_hand
       FROM outbox WHERE type = 'stock.changed.v1' AND aggregate_id = $1`,
      [last.id],
    );
    expect(levels.length).toBeGreaterThanOrEqual(2 * K);
    for (const level of levels) {
      expect(level.available).toBeGreaterThanOrEqual(0);
      expect(level.reserved).toBeLessThanOrEqual(level.on_hand);
    }
    const captured = await sql<{ n: number }>(
      stack.dbs.payments.url,
      "SELECT count(*)::int AS n FROM payments WHERE status = 'CAPTURED' AND order_id = ANY($1::uuid[])",
      [orderIds],
    );
    expect(captured).toEqual([{ n: K }]);
  });

  it("cancels a saga whose step is stuck past its deadline, retries its compensation until the participant is back, and gives the stock back", async () => {
    const buyer = await stack.seedBuyer();
    const vase = await stack.seedProduct(2);
    await stack.kill("inventory");
    try {
      const orderId = await stack.place(buyer, [{ product: vase, quantity: 1 }], "tok_visa", { stepTimeoutMs: 1500 });
      // The reserve step gets no answer: its deadline cancels the saga, whose release is sent again and again.
      await waitFor(async () => {
        const rows = await sql<{ status: string; attempts: number }>(
          stack.dbs.orders.url,
          "SELECT status, attempts FROM sagas WHERE id = $1",
          [orderId],
        );
        return rows[0]?.status === "COMPENSATING" && rows[0].attempts >= 2;
      }, "the saga to compensate and retry its release");
      expect(await stack.status(orderId)).toBe("PENDING");
      await stack.start("inventory");
      await stack.waitForStatus(orderId, "CANCELLED");
      const timeline = await stack.timeline(orderId);
      expect(timeline.map((e) => `${e.step} ${e.status}`)).toEqual([
        "order PLACED",
        "inventory TIMED_OUT",
        "inventory RELEASED",
        "order CANCELLED",
      ]);
      expect(timeline.at(-1)!.detail).toBe("step reserve-stock timed out (no answer within 1.5 s)");
      // The late try ran before its release (queue order) or was refused after it: either way nothing stays held.
      expect(await stock(vase.id)).toEqual({ on_hand: 2, reserved: 0 });
      const [reservation] = await sql<{ status: string }>(
        stack.dbs.inventory.url,
        "SELECT status::text AS status FROM reservations WHERE id = $1",
        [orderId],
      );
      expect(["RELEASED", "CANCELLED"]).toContain(reservation!.status);
      expect(await payments(orderId)).toEqual([]);
    } finally {
      if (!stack.running("inventory")) await stack.start("inventory");
    }
  });

  it("shows sagas by state and one saga's steps and compensations to operators (npm run saga)", async () => {
    const buyer = await stack.seedBuyer();
    const lamp = await stack.seedProduct(3);
    const orderId = await stack.place(buyer, [{ product: lamp, quantity: 1 }], "tok_chargeDeclined");
    await stack.waitForStatus(orderId, "CANCELLED");
    const show = await sagaCli(stack.dbs.orders.url, "show", orderId);
    expect(show.stdout).toContain(`saga ${orderId} (checkout): COMPENSATED, because payment declined (card_declined)`);
    expect(show.stdout).toMatch(/1\s+reserve-stock\s+COMPENSATED\s+1/);
    expect(show.stdout).toMatch(/2\s+charge-payment\s+FAILED\s+1/);
    expect(show.stdout).toMatch(/3\s+confirm-reservation\s+PENDING\s+0/);
    expect(show.stdout).toMatch(/reserve-stock\s+1\s+succeeded\s+reserved stock given back/);
    const list = await sagaCli(stack.dbs.orders.url, "list", "--status", "COMPENSATED");
    expect(list.stdout).toMatch(/checkout\s+COMPENSATED\s+[1-9]\d*/);
    expect(list.stdout).toContain(orderId);
    await expect(sagaCli(stack.dbs.orders.url, "show", "not-a-uuid")).rejects.toMatchObject({
      stderr: expect.stringContaining("show needs a saga id"),
    });
    await expect(sagaCli(stack.dbs.orders.url, "list", "--status", "DONE")).rejects.toMatchObject({
      stderr: expect.stringContaining("--status must be one of"),
    });
  });
});
