import { demoProducts } from "@ecom/demo-data";
import { createTestDatabase } from "@ecom/testing";
import { describe, expect, inject, it } from "vitest";
import { createDatabase } from "../src/datasources/prisma.ts";
import { StockRepository } from "../src/datasources/stock.ts";
import { seed } from "../src/seed.ts";
import { ADMIN, CUSTOMER, codesOf, sql, startInventory } from "./support.ts";

const run = inject("testRun");

const ENTITIES = /* GraphQL */ `
  query ($representations: [_Any!]!) {
    _entities(representations: $representations) {
      ... on Product {
        id
        stock
        inStock
      }
    }
  }
`;
const RESTOCK = /* GraphQL */ `
  mutation Restock($productId: ID!, $quantity: Int!) {
    restock(productId: $productId, quantity: $quantity) {
      id
      stock
      inStock
    }
  }
`;

type Stock = { id: string; stock: number; inStock: boolean };
const UNKNOWN = "6f1c2a57-0000-4000-8000-000000000000";
const soldOut = demoProducts.find((p) => p.stock === 0)!;
const stocked = demoProducts.find((p) => p.stock > 20)!;

const stockItem = async (url: string, productId: string) =>
  (
    await sql<{ on_hand: number; reserved: number; version: number }>(
      url,
      "SELECT on_hand, reserved, version FROM stock_items WHERE product_id = $1",
      [productId],
    )
  )[0];

describe("inventory Product references (_entities)", () => {
  it("resolves the demo stock of 225 products in one statement; unknown and malformed ids are out of stock, not null", async () => {
    await using db = await createTestDatabase(run, "inventory");
    await seed(db.url);
    await using api = await startInventory(db.url);

    const representations = [
      ...demoProducts.map((p) => ({ __typename: "Product", id: p.id })),
      { __typename: "Product", id: UNKNOWN },
      { __typename: "Product", id: "sku-1" },
    ];
    api.resetStatements();
    const res = await api.gql<{ _entities: Stock[] }>(ENTITIES, { representations });
    expect(res.errors).toBeUndefined();
    expect(res.data!._entities).toEqual([
      ...demoProducts.map((p) => ({ id: p.id, stock: p.stock, inStock: p.stock > 0 })),
      { id: UNKNOWN, stock: 0, inStock: false },
      { id: "sku-1", stock: 0, inStock: false },
    ]);
    expect(res.data!._entities.find((e) => e.id === soldOut.id)).toEqual({ id: soldOut.id, stock: 0, inStock: false });
    expect(api.statements).toHaveLength(1);
    expect(api.statements[0]).toMatch(/FROM "public"\."stock_items"/);
  });

  it("counts only available units: reserved units are not in stock", async () => {
    await using db = await createTestDatabase(run, "inventory");
    await seed(db.url);
    await using api = await startInventory(db.url);

    await sql(db.url, "UPDATE stock_items SET reserved = on_hand - 3 WHERE product_id = $1", [stocked.id]);
    await sql(db.url, "UPDATE stock_items SET on_hand = 5, reserved = 5 WHERE product_id = $1", [demoProducts[1]!.id]);
    const res = await api.gql<{ _entities: Stock[] }>(ENTITIES, {
      representations: [stocked.id, demoProducts[1]!.id].map((id) => ({ __typename: "Product", id })),
    });
    expect(res.data!._entities).toEqual([
      { id: stocked.id, stock: 3, inStock: true },
      { id: demoProducts[1]!.id, stock: 0, inStock: false },
    ]);
  });
});

describe("restock", () => {
  it("lets an ADMIN add units to a stocked product and returns the new stock", async () => {
    await using db = await createTestDatabase(run, "inventory");
    await seed(db.url);
    await using api = await startInventory(db.url);

    const res = await api.gql(RESTOCK, { productId: soldOut.id, quantity: 12 }, ADMIN);
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({ restock: { id: soldOut.id, stock: 12, inStock: true } });
    expect(await stockItem(db.url, soldOut.id)).toEqual({ on_hand: 12, reserved: 0, version: 1 });
  });

  it("refuses with NOT_FOUND a product inventory has not heard of from the catalog, writing nothing", async () => {
    await using db = await createTestDatabase(run, "inventory");
    await seed(db.url);
    await using api = await startInventory(db.url);

    const res = await api.gql(RESTOCK, { productId: UNKNOWN.toUpperCase(), quantity: 4 }, ADMIN);
    expect(res.data).toBeNull();
    expect(codesOf(res)).toEqual(["NOT_FOUND"]);
    expect(await stockItem(db.url, UNKNOWN)).toBeUndefined();
    expect(await sql(db.url, "SELECT count(*)::int AS n FROM outbox")).toEqual([{ n: 0 }]);
  });

  it("announces each restock as stock.changed.v1 in its transaction, versioned in the order the restocks applied", async () => {
    await using db = await createTestDatabase(run, "inventory");
    await seed(db.url);
    await using api = await startInventory(db.url);

    await api.gql(RESTOCK, { productId: soldOut.id, quantity: 5 }, ADMIN);
    await api.gql(RESTOCK, { productId: soldOut.id, quantity: 2 }, ADMIN);
    const rows = await sql<{ type: string; aggregate_version: number; payload: unknown; queues: string[] }>(
      db.url,
      "SELECT type, aggregate_version, payload, queues FROM outbox WHERE aggregate_id = $1 ORDER BY seq",
      [soldOut.id],
    );
    expect(rows).toEqual([
      {
        type: "stock.changed.v1",
        aggregate_version: 1,
        queues: ["events.search"],
        payload: { productId: soldOut.id, onHand: 5, reserved: 0, available: 5, delta: 5, reason: "restock" },
      },
      {
        type: "stock.changed.v1",
        aggregate_version: 2,
        queues: ["events.search"],
        payload: { productId: soldOut.id, onHand: 7, reserved: 0, available: 7, delta: 2, reason: "restock" },
      },
    ]);
  });

  it.each([
    ["a CUSTOMER", "FORBIDDEN", CUSTOMER],
    ["an anonymous caller", "UNAUTHENTICATED", null],
  ])("refuses %s with %s and writes nothing", async (_who, code, identity) => {
    await using db = await createTestDatabase(run, "inventory");
    await seed(db.url);
    await using api = await startInventory(db.url);
    api.resetStatements();
    const res = await api.gql(RESTOCK, { productId: stocked.id, quantity: 5 }, identity);
    expect(res.data).toBeNull();
    expect(codesOf(res)).toEqual([code]);
    expect(api.statements).toEqual([]);
    expect(await stockItem(db.url, stocked.id)).toEqual({ on_hand: stocked.stock, reserved: 0, version: 0 });
  });

  it.each([
    ["a quantity of 0", { quantity: 0 }, "quantity"],
    ["a negative quantity", { quantity: -5 }, "quantity"],
    ["a quantity above 1000000", { quantity: 1_000_001 }, "quantity"],
    ["a malformed product id", { productId: "ELE-0101" }, "productId"],
    ["an empty product id", { productId: "" }, "productId"],
  ])("refuses %s with BAD_USER_INPUT before touching the database", async (_name, change, field) => {
    await using db = await createTestDatabase(run, "inventory");
    await using api = await startInventory(db.url);
    api.resetStatements();
    const res = await api.gql(RESTOCK, { productId: stocked.id, quantity: 5, ...change }, ADMIN);
    expect(codesOf(res)).toEqual(["BAD_USER_INPUT"]);
    expect(res.errors![0]!.extensions!.field).toBe(field);
    expect(api.statements).toEqual([]);
    expect(await sql(db.url, "SELECT count(*)::int AS n FROM stock_items")).toEqual([{ n: 0 }]);
  });

  it("accepts 1 and 1000000 units", async () => {
    await using db = await createTestDatabase(run, "inventory");
    await seed(db.url);
    await using api = await startInventory(db.url);
    await api.gql(RESTOCK, { productId: soldOut.id, quantity: 1 }, ADMIN);
    const res = await api.gql(RESTOCK, { productId: soldOut.id, quantity: 1_000_000 }, ADMIN);
    expect(res.data).toEqual({ restock: { id: soldOut.id, stock: 1_000_001, inStock: true } });
  });

  it("refuses a restock that would overflow the stock with BAD_USER_INPUT and changes nothing", async () => {
    await using db = await createTestDatabase(run, "inventory");
    await seed(db.url);
    await using api = await startInventory(db.url);
    await sql(db.url, "UPDATE stock_items SET on_hand = 2147000000 WHERE product_id = $1", [stocked.id]);
    const res = await api.gql(RESTOCK, { productId: stocked.id, quantity: 1_000_000 }, ADMIN);
    expect(codesOf(res)).toEqual(["BAD_USER_INPUT"]);
    expect(await stockItem(db.url, stocked.id)).toEqual({ on_hand: 2147000000, reserved: 0, version: 0 });
  });
});

describe("restock of a product announced while it runs", () => {
  it("restocks a product whose stock item was committed between its UPDATE and its check, rather than calling it an overflow", async () => {
    await using db = await createTestDatabase(run, "inventory");
    const database = createDatabase(db.url);
    try {
      const productId = "6f1c2a57-0000-4000-8000-0000000000aa";
      // The race of a restock sent right after createProduct: product.created.v1's consumer commits the stock item
      // after the restock's UPDATE found no row and before its next statement. The hook makes that ordering exact:
      // after the transaction's first statement, another connection creates the row and commits.
      let statements = 0;
      const racing = new Proxy(database.prisma, {
        get(target, key, receiver) {
          if (key !== "$transaction") return Reflect.get(target, key, receiver) as unknown;
          return (fn: (tx: unknown) => Promise<unknown>, options?: unknown) =>
            target.$transaction(async (tx) => {
              const txProxy = new Proxy(tx, {
                get(t, k, r) {
                  const value = Reflect.get(t, k, r) as unknown;
                  if (k !== "$queryRaw" || typeof value !== "function") return value;
                  return async (...args: unknown[]) => {
                    const result: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(t, args);
                    if (++statements === 1)
                      await sql(
                        db.url,
                        "INSERT INTO stock_items (product_id, on_hand, reserved, version, updated_at) VALUES ($1, 0, 0, 0, now())",
                        [productId],
                      );
                    return result;
                  };
                },
              });
              return fn(txProxy);
            }, options as never);
        },
      });
      const result = await new StockRepository(racing).restock(productId, 7);
      expect(result).toEqual({ kind: "restocked", item: { id: productId, onHand: 7, reserved: 0 } });
      expect(statements).toBeGreaterThanOrEqual(2);
      expect(await stockItem(db.url, productId)).toEqual({ on_hand: 7, reserved: 0, version: 1 });
    } finally {
      await database.close();
    }
  });
});

describe("lowStock", () => {
  const LOW = /* GraphQL */ `
    query Low($threshold: Int, $first: Int) {
      lowStock(threshold: $threshold, first: $first) {
        id
        stock
        inStock
      }
    }
  `;

  it("lists products at or below the threshold, fewest available first, for an ADMIN", async () => {
    await using db = await createTestDatabase(run, "inventory");
    await seed(db.url);
    await using api = await startInventory(db.url);

    const soldOutIds = demoProducts
      .filter((p) => p.stock === 0)
      .map((p) => p.id)
      .sort();
    const none = await api.gql<{ lowStock: Stock[] }>(LOW, { threshold: 0, first: 100 }, ADMIN);
    expect(none.errors).toBeUndefined();
    expect(none.data!.lowStock).toEqual(soldOutIds.map((id) => ({ id, stock: 0, inStock: false })));

    const low = await api.gql<{ lowStock: Stock[] }>(LOW, { threshold: 20, first: 5 }, ADMIN);
    const stocks = low.data!.lowStock.map((p) => p.stock);
    expect(stocks).toHaveLength(5);
    expect(stocks).toEqual([...stocks].sort((a, b) => a - b));
    expect(stocks.every((n) => n <= 20)).toBe(true);
  });

  it("refuses CUSTOMER (FORBIDDEN), anonymous (UNAUTHENTICATED) and out-of-range arguments (BAD_USER_INPUT)", async () => {
    await using db = await createTestDatabase(run, "inventory");
    await using api = await startInventory(db.url);
    expect(codesOf(await api.gql(LOW, {}, CUSTOMER))).toEqual(["FORBIDDEN"]);
    expect(codesOf(await api.gql(LOW, {}, null))).toEqual(["UNAUTHENTICATED"]);
    expect(codesOf(await api.gql(LOW, { threshold: -1 }, ADMIN))).toEqual(["BAD_USER_INPUT"]);
    expect(codesOf(await api.gql(LOW, { first: 0 }, ADMIN))).toEqual(["BAD_USER_INPUT"]);
    expect(codesOf(await api.gql(LOW, { first: 101 }, ADMIN))).toEqual(["BAD_USER_INPUT"]);
  });
});

describe("inventory seed", () => {
  it("is idempotent and never undoes live stock: seeding twice leaves 225 items, a restock survives a re-seed", async () => {
    await using db = await createTestDatabase(run, "inventory");
    expect(await seed(db.url)).toEqual({ stockItems: 225, created: 225 });
    await using api = await startInventory(db.url);
    await api.gql(RESTOCK, { productId: stocked.id, quantity: 10 }, ADMIN);
    expect(await seed(db.url)).toEqual({ stockItems: 225, created: 0 });
    expect(await sql(db.url, "SELECT count(*)::int AS n, sum(on_hand)::int AS total FROM stock_items")).toEqual([
      { n: 225, total: demoProducts.reduce((sum, p) => sum + p.stock, 0) + 10 },
    ]);
  });
});
