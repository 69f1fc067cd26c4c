import { describe, expect, it } from "vitest";
import { applyTransition, isInvalidTransitionError, type OrderStatus } from "../src/domain/order-status.ts";
import { MAX_TOTAL_AMOUNT, placeOrderInputSchema, priceOrder, requestHashOf, type PlaceOrderRequest } from "../src/domain/place-order.ts";

const A = "00000000-0000-4000-8000-00000000000a";
const B = "00000000-0000-4000-8000-00000000000b";

const request = (items: PlaceOrderRequest["items"], paymentToken: PlaceOrderRequest["paymentToken"] = "tok_visa"): PlaceOrderRequest => ({
  items,
  paymentToken,
  idempotencyKey: "key-12345",
});

describe("order status transitions", () => {
  it("moves a PENDING order to CONFIRMED or CANCELLED with an order timeline entry", () => {
    expect(applyTransition({ status: "PENDING" }, { type: "CONFIRM" })).toEqual({
      kind: "changed",
      from: "PENDING",
      to: "CONFIRMED",
      entry: { step: "order", status: "CONFIRMED", detail: null },
    });
    expect(applyTransition({ status: "PENDING" }, { type: "CANCEL", reason: "payment declined" })).toEqual({
      kind: "changed",
      from: "PENDING",
      to: "CANCELLED",
      entry: { step: "order", status: "CANCELLED", detail: "payment declined" },
    });
  });

  it("treats a repeated transition as unchanged, so a redelivered saga message writes nothing", () => {
    expect(applyTransition({ status: "CONFIRMED" }, { type: "CONFIRM" })).toEqual({ kind: "unchanged", status: "CONFIRMED" });
    expect(applyTransition({ status: "CANCELLED" }, { type: "CANCEL", reason: "again" })).toEqual({
      kind: "unchanged",
      status: "CANCELLED",
    });
  });

  it.each<[OrderStatus, "CONFIRM" | "CANCEL"]>([
    ["CONFIRMED", "CANCEL"],
    ["CANCELLED", "CONFIRM"],
  ])("refuses to leave a final state: %s cannot %s", (status, type) => {
    const transition = type === "CONFIRM" ? { type } : { type, reason: "x" };
    let error: unknown;
    try {
      applyTransition({ status }, transition);
    } catch (e) {
      error = e;
    }
    expect(isInvalidTransitionError(error)).toBe(true);
  });
});

describe("placeOrder rules", () => {
  it("hashes the same request the same way whatever the order of its lines and the case of its ids", () => {
    const one = requestHashOf(
      request([
        { productId: A, quantity: 1 },
        { productId: B, quantity: 2 },
      ]),
    );
    const two = requestHashOf(
      request([
        { productId: B.toUpperCase(), quantity: 2 },
        { productId: A, quantity: 1 },
      ]),
    );
    expect(one).toMatch(/^[0-9a-f]{64}$/);
    expect(two).toBe(one);
  });

  it("hashes a different quantity, product or payment token differently", () => {
    const base = requestHashOf(request([{ productId: A, quantity: 1 }]));
    expect(requestHashOf(request([{ productId: A, quantity: 2 }]))).not.toBe(base);
    expect(requestHashOf(request([{ productId: B, quantity: 1 }]))).not.toBe(base);
    expect(requestHashOf(request([{ productId: A, quantity: 1 }], "tok_chargeDeclined"))).not.toBe(base);
  });

  it("normalizes product ids to lower case when parsing", () => {
    const parsed = placeOrderInputSchema.parse({
      items: [{ productId: A.toUpperCase(), quantity: 1 }],
      paymentToken: "tok_visa",
      idempotencyKey: "abcdefgh",
    });
    expect(parsed.items[0]!.productId).toBe(A);
  });

  it("snapshots unit prices and sums the total", () => {
    const priced = priceOrder(
      request([
        { productId: A, quantity: 3 },
        { productId: B, quantity: 1 },
      ]),
      [
        { id: A, amount: 250, currency: "EUR" },
        { id: B, amount: 1000, currency: "EUR" },
      ],
    );
    expect(priced).toEqual({
      currency: "EUR",
      totalAmount: 1750,
      items: [
        { productId: A, quantity: 3, unitAmount: 250, currency: "EUR" },
        { productId: B, quantity: 1, unitAmount: 1000, currency: "EUR" },
      ],
    });
  });

  it("refuses a total that does not fit a 32-bit Int", () => {
    const huge = Math.ceil(MAX_TOTAL_AMOUNT / 100) + 1;
    expect(() => priceOrder(request([{ productId: A, quantity: 100 }]), [{ id: A, amount: huge, currency: "USD" }])).toThrow(/too large/);
  });
});
