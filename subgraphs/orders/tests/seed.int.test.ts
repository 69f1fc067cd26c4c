import { demoOrders, demoUsers } from "@ecom/demo-data";
import { createTestDatabase } from "@ecom/testing";
import { describe, expect, inject, it } from "vitest";
import { seed } from "../src/seed.ts";
import { countRows, PLACE_ORDER, startOrders, startProductsStub, type GraphQLResponse, type PlacedOrder } from "./support.ts";

const run = inject("testRun");
const alice = demoUsers.find((u) => u.email === "alice@example.com")!;

describe("orders seed", () => {
  it("inserts the demo orders once, CONFIRMED with the whole checkout in their timeline, and is idempotent", async () => {
    await using db = await createTestDatabase(run, "orders");

    expect(await seed(db.url)).toEqual({ orders: 5, inserted: 5 });
    expect(await seed(db.url)).toEqual({ orders: 5, inserted: 0 });

    const items = demoOrders.reduce((n, o) => n + o.items.length, 0);
    expect(await countRows(db.url)).toEqual({ orders: 5, items, events: 5 * 4 });

    await using products = await startProductsStub([]);
    await using api = await startOrders(db.url, products.url);
    const res = await api.gql<{ _entities: Array<{ orders: { totalCount: number; edges: Array<{ node: PlacedOrder }> } }> }>(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { orders { totalCount edges { node {
        id status createdAt total { amount currency } buyer { id } items { product { id } quantity unitPrice { amount currency } }
        timeline { at step status detail } } } } } } }`,
      { r: [{ __typename: "User", id: alice.id }] },
      { userId: alice.id, role: "CUSTOMER" },
    );
    expect(res.errors).toBeUndefined();
    const listed = res.data!._entities[0]!.orders;
    const expected = demoOrders.filter((o) => o.buyerId === alice.id).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    expect(listed.totalCount).toBe(3);
    expect(listed.edges.map((e) => e.node)).toEqual(
      expected.map((o) => ({
        id: o.id,
        status: "CONFIRMED",
        createdAt: o.createdAt,
        total: { amount: o.totalAmount, currency: o.currency },
        buyer: { id: alice.id },
        items: o.items.map((i) => ({
          product: { id: i.productId },
          quantity: i.quantity,
          unitPrice: { amount: i.unitAmount, currency: i.currency },
        })),
        timeline: o.timeline,
      })),
    );
    expect(listed.edges[0]!.node.timeline.map((t) => `${t.step} ${t.status}`)).toEqual([
      "order PLACED",
      "inventory RESERVED",
      "payment CAPTURED",
      "order CONFIRMED",
    ]);
  });

  it("answers a replay of a demo order's request with that order, as if it had been placed through the API", async () => {
    await using db = await createTestDatabase(run, "orders");
    await seed(db.url);
    await using products = await startProductsStub([]);
    await using api = await startOrders(db.url, products.url);
    const demo = demoOrders[0]!;

    const res: GraphQLResponse<{ placeOrder: PlacedOrder }> = await api.gql(
      PLACE_ORDER,
      {
        input: {
          items: demo.items.map((i) => ({ productId: i.productId, quantity: i.quantity })),
          paymentToken: demo.paymentToken,
          idempotencyKey: demo.idempotencyKey,
        },
      },
      { userId: demo.buyerId, role: "CUSTOMER" },
    );

    expect(res.errors).toBeUndefined();
    expect(res.data!.placeOrder).toMatchObject({ id: demo.id, status: "CONFIRMED" });
    expect(products.calls).toBe(0);
  });
});
