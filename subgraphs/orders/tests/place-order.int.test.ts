import { randomUUID } from "node:crypto";
import { createTestDatabase } from "@ecom/testing";
import { describe, expect, inject, it } from "vitest";
import {
  ALICE,
  BOB,
  codesOf,
  countRows,
  makeProducts,
  PLACE_ORDER,
  startOrders,
  startProductsStub,
  type GraphQLResponse,
  type PlacedOrder,
} from "./support.ts";

const run = inject("testRun");

type PlaceResult = GraphQLResponse<{ placeOrder: PlacedOrder }>;

const input = (items: Array<{ productId: string; quantity: number }>, overrides: Record<string, unknown> = {}) => ({
  items,
  paymentToken: "tok_visa",
  idempotencyKey: `key-${randomUUID()}`,
  ...overrides,
});

describe("placeOrder", () => {
  it("places a PENDING order at the products' current prices, with the total and an order PLACED timeline entry", async () => {
    await using db = await createTestDatabase(run, "orders");
    const [a, b, c] = makeProducts(3);
    await using products = await startProductsStub([a!, b!, c!]);
    await using api = await startOrders(db.url, products.url);

    const before = Date.now();
    const res: PlaceResult = await api.gql(
      PLACE_ORDER,
      {
        input: input([
          { productId: c!.id, quantity: 1 },
          { productId: a!.id, quantity: 3 },
          { productId: b!.id.toUpperCase(), quantity: 2 },
        ]),
      },
      ALICE,
    );

    expect(res.errors).toBeUndefined();
    const order = res.data!.placeOrder;
    expect(order.status).toBe("PENDING");
    expect(order.buyer).toEqual({ id: ALICE.userId });
    // Lines keep the buyer's order; product ids come back as Postgres prints them (lower case).
    expect(order.items).toEqual([
      { product: { id: c!.id }, quantity: 1, unitPrice: { amount: 300, currency: "USD" } },
      { product: { id: a!.id }, quantity: 3, unitPrice: { amount: 100, currency: "USD" } },
      { product: { id: b!.id }, quantity: 2, unitPrice: { amount: 200, currency: "USD" } },
    ]);
    expect(order.total).toEqual({ amount: 300 + 3 * 100 + 2 * 200, currency: "USD" });
    expect(order.timeline).toEqual([{ at: order.createdAt, step: "order", status: "PLACED", detail: null }]);
    expect(Date.parse(order.createdAt)).toBeGreaterThanOrEqual(before - 1000);
    // All three prices came from one `_entities` call.
    expect(products.calls).toBe(1);
    expect(products.references).toBe(3);
    expect(await countRows(db.url)).toEqual({ orders: 1, items: 3, events: 1 });

    // The prices are snapshots: repricing the catalog does not change the order.
    products.products.set(a!.id, { ...a!, amount: 9999 });
    const again = await api.gql<{ order: PlacedOrder }>(
      `query($id: ID!) { order(id: $id) { total { amount } items { unitPrice { amount } } } }`,
      { id: order.id },
      ALICE,
    );
    expect(again.data!.order.total.amount).toBe(1000);
    expect(again.data!.order.items.map((i) => i.unitPrice.amount)).toEqual([300, 100, 200]);
  });

  it("returns the same order when the same idempotencyKey is sent again, without asking products again", async () => {
    await using db = await createTestDatabase(run, "orders");
    const [a, b] = makeProducts(2);
    await using products = await startProductsStub([a!, b!]);
    await using api = await startOrders(db.url, products.url);

    const first = input([
      { productId: a!.id, quantity: 1 },
      { productId: b!.id, quantity: 2 },
    ]);
    const one: PlaceResult = await api.gql(PLACE_ORDER, { input: first }, ALICE);
    // The same request with its lines in another order (and an id in upper case) is the same request.
    const retry = {
      ...first,
      items: [
        { productId: b!.id.toUpperCase(), quantity: 2 },
        { productId: a!.id, quantity: 1 },
      ],
    };
    const two: PlaceResult = await api.gql(PLACE_ORDER, { input: retry }, ALICE);

    expect(one.errors).toBeUndefined();
    expect(two.errors).toBeUndefined();
    expect(two.data!.placeOrder).toEqual(one.data!.placeOrder);
    expect(products.calls).toBe(1);
    expect(await countRows(db.url)).toEqual({ orders: 1, items: 2, events: 1 });
  });

  it("creates exactly one order when 10 identical requests arrive at once, and answers all 10 with it", async () => {
    await using db = await createTestDatabase(run, "orders");
    const [a, b] = makeProducts(2);
    await using products = await startProductsStub([a!, b!]);
    await using api = await startOrders(db.url, products.url);

    // A slow catalog holds every request between its replay check and its insert: they all race on the insert.
    products.delayMs = 300;
    const same = input([
      { productId: a!.id, quantity: 2 },
      { productId: b!.id, quantity: 1 },
    ]);
    const results = await Promise.all(
      Array.from({ length: 10 }, () => api.gql<{ placeOrder: PlacedOrder }>(PLACE_ORDER, { input: same }, ALICE)),
    );

    expect(results.flatMap((r) => r.errors ?? [])).toEqual([]);
    expect(products.calls).toBe(10);
    const ids = new Set(results.map((r) => r.data!.placeOrder.id));
    expect(ids.size).toBe(1);
    expect(results.every((r) => r.data!.placeOrder.total.amount === 400)).toBe(true);
    expect(await countRows(db.url)).toEqual({ orders: 1, items: 2, events: 1 });
  });

  it("refuses an idempotencyKey reused with other items or another paymentToken (BAD_USER_INPUT), writing nothing", async () => {
    await using db = await createTestDatabase(run, "orders");
    const [a, b] = makeProducts(2);
    await using products = await startProductsStub([a!, b!]);
    await using api = await startOrders(db.url, products.url);

    const first = input([{ productId: a!.id, quantity: 1 }]);
    expect((await api.gql(PLACE_ORDER, { input: first }, ALICE)).errors).toBeUndefined();

    for (const changed of [
      { ...first, items: [{ productId: a!.id, quantity: 2 }] },
      {
        ...first,
        items: [
          { productId: a!.id, quantity: 1 },
          { productId: b!.id, quantity: 1 },
        ],
      },
      { ...first, paymentToken: "tok_chargeDeclined" },
    ]) {
      const res: PlaceResult = await api.gql(PLACE_ORDER, { input: changed }, ALICE);
      expect(codesOf(res)).toEqual(["BAD_USER_INPUT"]);
      expect(res.errors![0]!.extensions!.field).toBe("input.idempotencyKey");
    }
    expect(await countRows(db.url)).toEqual({ orders: 1, items: 1, events: 1 });
  });

  it("scopes idempotency keys to the buyer: two buyers using the same key get two orders", async () => {
    await using db = await createTestDatabase(run, "orders");
    const [a] = makeProducts(1);
    await using products = await startProductsStub([a!]);
    await using api = await startOrders(db.url, products.url);

    const same = input([{ productId: a!.id, quantity: 1 }]);
    const alice: PlaceResult = await api.gql(PLACE_ORDER, { input: same }, ALICE);
    const bob: PlaceResult = await api.gql(PLACE_ORDER, { input: same }, BOB);

    expect(alice.data!.placeOrder.buyer.id).toBe(ALICE.userId);
    expect(bob.data!.placeOrder.buyer.id).toBe(BOB.userId);
    expect(bob.data!.placeOrder.id).not.toBe(alice.data!.placeOrder.id);
    expect((await countRows(db.url)).orders).toBe(2);
  });

  describe("refuses invalid input with BAD_USER_INPUT naming the field, before asking products or writing", () => {
    const p = "00000000-0000-4000-8000-000000000001";
    const q = "00000000-0000-4000-8000-000000000002";
    const line = (productId = p, quantity = 1) => ({ productId, quantity });
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ["no items", input([]), "input.items"],
      ["51 items", input(Array.from({ length: 51 }, () => line(randomUUID()))), "input.items"],
      ["quantity 0", input([line(p, 0)]), "input.items.0.quantity"],
      ["quantity -1", input([line(p, -1)]), "input.items.0.quantity"],
      ["quantity 101", input([line(q), line(p, 101)]), "input.items.1.quantity"],
      ["a product listed twice", input([line(p), line(q), line(p, 2)]), "input.items.2.productId"],
      ["a product listed twice in other case", input([line(p), line(p.toUpperCase())]), "input.items.1.productId"],
      ["a productId that is not a UUID", input([line("42")]), "input.items.0.productId"],
      ["an unknown paymentToken", input([line()], { paymentToken: "tok_mastercard" }), "input.paymentToken"],
      ["an empty paymentToken", input([line()], { paymentToken: "" }), "input.paymentToken"],
      ["a 7-character idempotencyKey", input([line()], { idempotencyKey: "1234567" }), "input.idempotencyKey"],
      ["a 101-character idempotencyKey", input([line()], { idempotencyKey: "k".repeat(101) }), "input.idempotencyKey"],
      ["an idempotencyKey with other characters", input([line()], { idempotencyKey: "key with spaces" }), "input.idempotencyKey"],
    ];

    it.each(cases)("%s", async (_name, bad, field) => {
      await using db = await createTestDatabase(run, "orders");
      await using products = await startProductsStub([
        { id: p, amount: 100, currency: "USD" },
        { id: q, amount: 100, currency: "USD" },
      ]);
      await using api = await startOrders(db.url, products.url);

      const res: PlaceResult = await api.gql(PLACE_ORDER, { input: bad }, ALICE);

      expect(codesOf(res)).toEqual(["BAD_USER_INPUT"]);
      expect(res.errors![0]!.extensions!.field).toBe(field);
      expect(products.calls).toBe(0);
      expect(await countRows(db.url)).toEqual({ orders: 0, items: 0, events: 0 });
    });

    it("accepts the limits themselves: 50 lines, quantity 100, keys of 8 and 100 characters", async () => {
      await using db = await createTestDatabase(run, "orders");
      const many = makeProducts(50);
      await using products = await startProductsStub(many);
      await using api = await startOrders(db.url, products.url);

      const fifty: PlaceResult = await api.gql(
        PLACE_ORDER,
        {
          input: input(
            many.map((m) => line(m.id, 100)),
            { idempotencyKey: "Ab_-1234" },
          ),
        },
        ALICE,
      );
      const long: PlaceResult = await api.gql(
        PLACE_ORDER,
        { input: input([line(many[0]!.id)], { idempotencyKey: "k".repeat(100) }) },
        ALICE,
      );

      expect(fifty.errors).toBeUndefined();
      expect(fifty.data!.placeOrder.items).toHaveLength(50);
      expect(fifty.data!.placeOrder.total.amount).toBe(100 * many.reduce((s, m) => s + m.amount, 0));
      expect(long.errors).toBeUndefined();
      expect(products.calls).toBe(2);
    });
  });

  it("refuses unknown products with BAD_USER_INPUT naming every one of them, writing nothing", async () => {
    await using db = await createTestDatabase(run, "orders");
    const [a] = makeProducts(1);
    await using products = await startProductsStub([a!]);
    await using api = await startOrders(db.url, products.url);
    const ghost1 = randomUUID();
    const ghost2 = randomUUID();

    const res: PlaceResult = await api.gql(
      PLACE_ORDER,
      {
        input: input([
          { productId: ghost1, quantity: 1 },
          { productId: a!.id, quantity: 1 },
          { productId: ghost2, quantity: 1 },
        ]),
      },
      ALICE,
    );

    expect(codesOf(res)).toEqual(["BAD_USER_INPUT"]);
    expect(res.errors![0]!.message).toContain(ghost1);
    expect(res.errors![0]!.message).toContain(ghost2);
    expect(res.errors![0]!.extensions).toMatchObject({ field: "input.items.0.productId", productIds: [ghost1, ghost2] });
    expect(products.calls).toBe(1);
    expect(await countRows(db.url)).toEqual({ orders: 0, items: 0, events: 0 });
  });

  it("refuses products priced in different currencies with BAD_USER_INPUT, writing nothing", async () => {
    await using db = await createTestDatabase(run, "orders");
    const [usd] = makeProducts(1, "USD");
    const [eur] = makeProducts(1, "EUR");
    await using products = await startProductsStub([usd!, eur!]);
    await using api = await startOrders(db.url, products.url);

    const res: PlaceResult = await api.gql(
      PLACE_ORDER,
      {
        input: input([
          { productId: usd!.id, quantity: 1 },
          { productId: eur!.id, quantity: 1 },
        ]),
      },
      ALICE,
    );

    expect(codesOf(res)).toEqual(["BAD_USER_INPUT"]);
    expect(res.errors![0]!.extensions).toMatchObject({ field: "input.items", currencies: ["USD", "EUR"] });
    expect(await countRows(db.url)).toEqual({ orders: 0, items: 0, events: 0 });
  });

  it("fails with SUBGRAPH_UNAVAILABLE and writes nothing while products is down, and the same key works once it is back", async () => {
    await using db = await createTestDatabase(run, "orders");
    const [a] = makeProducts(1);
    const products = await startProductsStub([a!]);
    const productsUrl = products.url;
    await products.stop();
    await using api = await startOrders(db.url, productsUrl);
    const request = input([{ productId: a!.id, quantity: 1 }]);

    const down: PlaceResult = await api.gql(PLACE_ORDER, { input: request }, ALICE);

    expect(codesOf(down)).toEqual(["SUBGRAPH_UNAVAILABLE"]);
    expect(down.errors![0]!.extensions).toMatchObject({ service: "products" });
    expect(await countRows(db.url)).toEqual({ orders: 0, items: 0, events: 0 });

    // Back on the same port: the retry with the same key places the order.
    const port = Number(new URL(productsUrl).port);
    await using back = await startProductsStub([a!], port);
    const retried: PlaceResult = await api.gql(PLACE_ORDER, { input: request }, ALICE);
    expect(retried.errors).toBeUndefined();
    expect(back.calls).toBe(1);
    expect(await countRows(db.url)).toEqual({ orders: 1, items: 1, events: 1 });
  });

  it("fails with SUBGRAPH_UNAVAILABLE and writes nothing when products answers with errors", async () => {
    await using db = await createTestDatabase(run, "orders");
    const [a] = makeProducts(1);
    await using products = await startProductsStub([a!]);
    products.failing = true;
    await using api = await startOrders(db.url, products.url);

    const res: PlaceResult = await api.gql(PLACE_ORDER, { input: input([{ productId: a!.id, quantity: 1 }]) }, ALICE);

    expect(codesOf(res)).toEqual(["SUBGRAPH_UNAVAILABLE"]);
    expect(await countRows(db.url)).toEqual({ orders: 0, items: 0, events: 0 });
  });

  it("refuses anonymous callers with UNAUTHENTICATED, writing nothing", async () => {
    await using db = await createTestDatabase(run, "orders");
    const [a] = makeProducts(1);
    await using products = await startProductsStub([a!]);
    await using api = await startOrders(db.url, products.url);

    const res: PlaceResult = await api.gql(PLACE_ORDER, { input: input([{ productId: a!.id, quantity: 1 }]) }, null);

    expect(codesOf(res)).toEqual(["UNAUTHENTICATED"]);
    expect(products.calls).toBe(0);
    expect(await countRows(db.url)).toEqual({ orders: 0, items: 0, events: 0 });
  });
});
