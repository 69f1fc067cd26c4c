/**
 * No N+1 across the federated graph: one query through the gateway that lists 100 orders with their items,
 * each item's product (products subgraph) and stock (inventory subgraph) costs each subgraph a fixed number
 * of SQL statements, whatever the number of orders. Counted by every subgraph itself (`db_statements_total`
 * on its /metrics, fed by the pg pool's onQuery), on real processes behind the real gateway.
 *
 * How we know this test catches a regression: we temporarily replaced three loaders with per-key queries, e.g.
 *   `itemsByOrderId: new DataLoader((ids) => Promise.all(ids.map((id) => repo.findItemsByOrderIds([id]).then((r) => r[0]!))))`
 * in subgraphs/orders/src/datasources/orders.ts, and the same for `productById` (products/src/datasources/catalog.ts)
 * and `stockByProductId` (inventory/src/datasources/stock.ts). The counts went from orders 2, products 1,
 * inventory 1 to orders 101, products 200, inventory 200, and the test failed naming each of the three subgraphs.
 * The loaders were restored afterwards. Each subgraph is checked on its own, so any one of them regressing fails it.
 */
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { parse } from "graphql";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { PlaceOrderDocument } from "@ecom/client";
import { SUBGRAPH_NAMES, type SubgraphName } from "@ecom/config";
import { demoProducts, demoUsers } from "@ecom/demo-data";
import { createPlatform } from "./platform.ts";

const ORDER_COUNT = 100;
const alice = demoUsers.find((u) => u.email === "alice@example.com")!;

interface MyOrders {
  me: {
    orders: {
      edges: Array<{
        node: {
          id: string;
          status: string;
          items: Array<{
            quantity: number;
            unitPrice: { amount: number };
            product: { name: string; price: { amount: number }; stock: number; inStock: boolean };
          }>;
        };
      }>;
    };
  } | null;
}

const MY_ORDERS = parse(/* GraphQL */ `
  query BatchedOrders {
    me {
      orders(first: 100) {
        edges {
          node {
            id
            status
            items {
              quantity
              unitPrice {
                amount
              }
              product {
                name
                price {
                  amount
                }
                stock
                inStock
              }
            }
          }
        }
      }
    }
  }
`) as TypedDocumentNode<MyOrders, Record<string, never>>;

/**
 * The most statements each subgraph may run for MY_ORDERS, whatever the number of orders: one per entity type it
 * loads. orders: the page of orders (one LATERAL query for every requested page) + the items of all of them = 2
 * (neither totalCount nor timeline is asked, so no count and no timeline statement). products: every Product of
 * every item in one `_entities` lookup = 1 (no Category: not asked). inventory: every stock level at once = 1.
 * users: `me` = 1. The others are not part of the query: 0.
 */
const BOUNDS: Record<SubgraphName, number> = { users: 1, products: 1, search: 0, orders: 2, payments: 0, inventory: 1, notifications: 0 };

/** Order i: two distinct products, so that the 100 orders reference 200 different products. */
const itemsOf = (i: number) => [
  { productId: demoProducts[(2 * i) % demoProducts.length]!.id, quantity: 1 + (i % 3) },
  { productId: demoProducts[(2 * i + 1) % demoProducts.length]!.id, quantity: 1 },
];

describe("batching across the federated graph", () => {
  const platform = createPlatform(inject("testRun"));
  const placed = new Map<string, ReturnType<typeof itemsOf>>();

  beforeAll(async () => {
    const t0 = Date.now();
    await platform.start();
    const t1 = Date.now();
    // Through the public API, as a client would: placeOrder at the gateway, a distinct idempotency key each.
    const { client } = await platform.login(alice.email);
    const queue = Array.from({ length: ORDER_COUNT }, (_, i) => i);
    const worker = async () => {
      for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
        const items = itemsOf(i);
        const { placeOrder } = await client.request(PlaceOrderDocument, {
          input: { items, paymentToken: "tok_visa", idempotencyKey: `batching-${i}-${inject("testRun").prefix}` },
        });
        placed.set(placeOrder.id, items);
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    console.log(`platform started in ${t1 - t0} ms; ${ORDER_COUNT} orders placed through the gateway in ${Date.now() - t1} ms`);
  });

  afterAll(() => platform.stop());

  it("lists 100 orders with items, product and stock in one query at a bounded number of statements per subgraph", async () => {
    expect(placed.size).toBe(ORDER_COUNT);
    const { client } = await platform.login(alice.email);

    const before = await platform.dbStatements();
    const { me } = await client.request(MY_ORDERS);
    const after = await platform.dbStatements();

    const used = Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, after[name] - before[name]])) as Record<SubgraphName, number>;
    console.table(SUBGRAPH_NAMES.map((name) => ({ subgraph: name, statements: used[name], bound: BOUNDS[name] })));

    // The response is the real thing: the 100 orders just placed (the newest), each with its items resolved
    // across orders, products and inventory.
    const edges = me?.orders.edges ?? [];
    expect(edges).toHaveLength(ORDER_COUNT);
    const byId = new Map(demoProducts.map((p) => [p.id, p]));
    for (const { node } of edges) {
      const items = placed.get(node.id);
      expect(items, `order ${node.id} is one of those placed`).toBeDefined();
      // The checkout saga runs meanwhile: each order is somewhere on its way.
      expect(["PENDING", "CONFIRMED", "CANCELLED"]).toContain(node.status);
      expect(node.items).toHaveLength(items!.length);
      node.items.forEach((item, position) => {
        const product = byId.get(items![position]!.productId)!;
        expect(item).toEqual({
          quantity: items![position]!.quantity,
          unitPrice: { amount: product.priceAmount },
          product: {
            name: product.name,
            price: { amount: product.priceAmount },
            stock: expect.any(Number),
            inStock: item.product.stock > 0,
          },
        });
      });
    }

    // Every subgraph over its bound, named at once (not only the first).
    const overBound = SUBGRAPH_NAMES.filter((name) => used[name] > BOUNDS[name]).map((name) => `${name}: ${used[name]} > ${BOUNDS[name]}`);
    expect(overBound, "subgraphs that ran more statements than their bound").toEqual([]);
    // The loaders ran: a zero would mean the counter is not wired, and the bound above would prove nothing.
    for (const name of ["users", "orders", "products", "inventory"] as const) expect(used[name], `${name} statements`).toBeGreaterThan(0);
  });
});
