/**
 * A customer's and an admin's journey through the real platform (seven subgraphs and the gateway as processes,
 * demo data seeded by each service's own seed), with the typed client @ecom/client: its generated documents where
 * they fit (login, search, placeOrder, order, product), typed documents of our own for the rest. Every expected
 * value comes from @ecom/demo-data, the single source each service seeded from.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { parse } from "graphql";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  isGraphQLRequestError,
  LoginDocument,
  OrderDocument,
  PlaceOrderDocument,
  ProductDocument,
  RegisterDocument,
  SearchDocument,
} from "@ecom/client";
import { DEMO_PASSWORD, demoCategories, demoOrders, demoProducts, demoUsers } from "@ecom/demo-data";
import { rejectionOf, signedHeaders, sql } from "@ecom/testing";
import { createPlatform, E2E_SIGNING_KEYS } from "./platform.ts";

const userByEmail = (email: string) => demoUsers.find((u) => u.email === email)!;
const alice = userByEmail("alice@example.com");
const bob = userByEmail("bob@example.com");
const admin = userByEmail("admin@example.com");
const productById = new Map(demoProducts.map((p) => [p.id, p]));
const categoryById = new Map(demoCategories.map((c) => [c.id, c]));
/** alice's first demo order: two lines, CONFIRMED, paid. */
const aliceOrder = demoOrders.find((o) => o.key === "alice-1")!;

const rejection = (promise: Promise<unknown>) => rejectionOf(promise, isGraphQLRequestError);

interface OrderJourney {
  order: {
    status: string;
    buyer: { name: string; email: string };
    items: Array<{
      quantity: number;
      unitPrice: { amount: number; currency: string };
      product: { name: string; price: { amount: number }; stock: number; inStock: boolean; category: { name: string } };
    }>;
    payment: { status: string; amount: { amount: number } } | null;
    timeline: Array<{ step: string; status: string }>;
  } | null;
}

/** One order across orders (status, items, timeline), users (buyer), products, inventory (stock) and payments. */
const ORDER_JOURNEY = parse(/* GraphQL */ `
  query OrderJourney($id: ID!) {
    order(id: $id) {
      status
      buyer {
        name
        email
      }
      items {
        quantity
        unitPrice {
          amount
          currency
        }
        product {
          name
          price {
            amount
          }
          stock
          inStock
          category {
            name
          }
        }
      }
      payment {
        status
        amount {
          amount
        }
      }
      timeline {
        step
        status
      }
    }
  }
`) as TypedDocumentNode<OrderJourney, { id: string }>;

const MY_NOTIFICATIONS = parse(/* GraphQL */ `
  query MyNotifications {
    me {
      notifications {
        subject
      }
    }
  }
`) as TypedDocumentNode<{ me: { notifications: Array<{ subject: string }> } | null }, Record<string, never>>;

interface CreateProductInput {
  sku: string;
  name: string;
  description: string;
  priceAmount: number;
  currency?: string;
  categoryId: string;
}

const CREATE_PRODUCT = parse(/* GraphQL */ `
  mutation CreateProduct($input: CreateProductInput!) {
    createProduct(input: $input) {
      id
      sku
      name
      price {
        amount
        currency
      }
      category {
        id
      }
    }
  }
`) as TypedDocumentNode<
  { createProduct: { id: string; sku: string; name: string; price: { amount: number; currency: string }; category: { id: string } } },
  { input: CreateProductInput }
>;

describe("journey through the platform", () => {
  const platform = createPlatform(inject("testRun"));

  beforeAll(() => platform.start());
  afterAll(() => platform.stop());

  it("signs alice in with the demo password", async () => {
    const { login } = await platform.client().request(LoginDocument, { email: alice.email, password: DEMO_PASSWORD });
    expect(login.token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(login.user).toMatchObject({ id: alice.id, email: alice.email, name: alice.name, role: "CUSTOMER" });
  });

  it("shows alice her seeded order across orders, users, products, inventory and payments in one query", async () => {
    const { client } = await platform.login(alice.email);
    const { order } = await client.request(ORDER_JOURNEY, { id: aliceOrder.id });
    expect(order).toEqual({
      status: "CONFIRMED",
      buyer: { name: alice.name, email: alice.email },
      items: aliceOrder.items.map((item) => {
        const product = productById.get(item.productId)!;
        return {
          quantity: item.quantity,
          unitPrice: { amount: item.unitAmount, currency: item.currency },
          product: {
            name: product.name,
            price: { amount: product.priceAmount },
            // Nothing is reserved in the seeded data: the available stock is the seeded one.
            stock: product.stock,
            inStock: product.stock > 0,
            category: { name: categoryById.get(product.categoryId)!.name },
          },
        };
      }),
      payment: { status: "CAPTURED", amount: { amount: aliceOrder.totalAmount } },
      timeline: aliceOrder.timeline.map(({ step, status }) => ({ step, status })),
    });
  });

  it("lists alice's notifications, newest first: an order confirmation per order, then the welcome", async () => {
    const { client } = await platform.login(alice.email);
    const { me } = await client.request(MY_NOTIFICATIONS);
    const confirmations = demoOrders
      .filter((o) => o.buyerId === alice.id)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
      .map((o) => ({ subject: `Your order ${o.key} is confirmed` }));
    expect(me?.notifications).toEqual([...confirmations, { subject: "Welcome to the shop" }]);
  });

  it("finds products by full-text search and resolves their names and prices through products", async () => {
    const { search } = await platform.client().request(SearchDocument, { query: "headphones", first: 20 });
    const expected = demoProducts.filter((p) => /headphones/i.test(`${p.name} ${p.description}`));
    expect(expected.length).toBeGreaterThan(0);
    expect(search.totalCount).toBe(expected.length);
    const found = search.edges.map(({ node }) => ({ id: node.id, name: node.name, price: node.price.amount }));
    expect(found.sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      expected.map((p) => ({ id: p.id, name: p.name, price: p.priceAmount })).sort((a, b) => a.id.localeCompare(b.id)),
    );
  });

  it("places an order with tok_visa as PENDING, and the same idempotency key returns the same order", async () => {
    const { client } = await platform.login(alice.email);
    const [first, second] = [demoProducts[10]!, demoProducts[20]!];
    const input = {
      items: [
        { productId: first.id, quantity: 2 },
        { productId: second.id, quantity: 1 },
      ],
      paymentToken: "tok_visa",
      idempotencyKey: `journey-${randomUUID()}`,
    };
    const { placeOrder } = await client.request(PlaceOrderDocument, { input });
    expect(placeOrder).toMatchObject({
      status: "PENDING",
      total: { amount: 2 * first.priceAmount + second.priceAmount, currency: "USD" },
    });

    const again = await client.request(PlaceOrderDocument, { input });
    expect(again.placeOrder).toEqual(placeOrder);
    // The order is hers to read back, with the lines she asked for.
    const { order } = await client.request(OrderDocument, { id: placeOrder.id });
    expect(order?.items.map((i) => ({ id: i.product.id, quantity: i.quantity }))).toEqual([
      { id: first.id, quantity: 2 },
      { id: second.id, quantity: 1 },
    ]);
  });

  it("prices orders through a signed orders -> products call, while every subgraph refuses unsigned calls to its own port", async () => {
    const rejections = async () => {
      const text = await (await fetch(`${platform.subgraphs.products.origin}/metrics`)).text();
      return [...text.matchAll(/^subgraph_signature_rejections_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    };
    const before = await rejections();
    const { client } = await platform.login(alice.email);
    const product = demoProducts[30]!;
    const input = { items: [{ productId: product.id, quantity: 3 }], paymentToken: "tok_visa", idempotencyKey: `signed-${randomUUID()}` };
    const { placeOrder } = await client.request(PlaceOrderDocument, { input });
    // The price can only come from products, which answers signed calls only: orders signed as itself.
    expect(placeOrder.total).toEqual({ amount: 3 * product.priceAmount, currency: "USD" });
    expect(await rejections()).toBe(before);

    const body = JSON.stringify({ query: "{ __typename }" });
    for (const [name, subgraph] of Object.entries(platform.subgraphs)) {
      const res = await fetch(subgraph.url, { method: "POST", headers: { "content-type": "application/json" }, body });
      expect(res.status, name).toBe(401);
    }
    // K(orders -> products) signs calls as orders, never for a user.
    const asOrders = signedHeaders("products", { userId: alice.id, role: "ADMIN" }, { caller: "orders", master: E2E_SIGNING_KEYS });
    const url = new URL(platform.subgraphs.products.url);
    const claimed = await fetch(url, { method: "POST", headers: asOrders(body, url), body });
    expect(claimed.status).toBe(401);
    expect(((await claimed.json()) as { errors: Array<{ extensions: { reason: string } }> }).errors[0]!.extensions.reason).toBe(
      "identity-not-allowed",
    );
  });

  it("hides alice's order from bob (null, as for an unknown id)", async () => {
    const { client, userId } = await platform.login(bob.email);
    expect(userId).toBe(bob.id);
    expect((await client.request(OrderDocument, { id: aliceOrder.id })).order).toBeNull();
    expect((await client.request(OrderDocument, { id: randomUUID() })).order).toBeNull();
  });

  it("refuses createProduct to a CUSTOMER with FORBIDDEN", async () => {
    const { client } = await platform.login(alice.email);
    const refused = await rejection(
      client.request(CREATE_PRODUCT, {
        input: {
          sku: newSku(),
          name: "Not Allowed",
          description: "A customer cannot add this.",
          priceAmount: 1000,
          categoryId: demoCategories[0]!.id,
        },
      }),
    );
    expect(refused.codes).toEqual(["FORBIDDEN"]);
  });

  it("lets an ADMIN create a product, then shows it with stock 0 (inventory has none of it yet)", async () => {
    const { client } = await platform.login(admin.email);
    const category = demoCategories[2]!;
    const input = {
      sku: newSku(),
      name: "Journey Test Kettle",
      description: "A kettle created by the end-to-end journey.",
      priceAmount: 4321,
      categoryId: category.id,
    };
    const { createProduct } = await client.request(CREATE_PRODUCT, { input });
    expect(createProduct).toMatchObject({
      sku: input.sku,
      name: input.name,
      price: { amount: 4321, currency: "USD" },
      category: { id: category.id },
    });

    // Anyone can read the catalog: the anonymous client sees it too.
    const { product } = await platform.client().request(ProductDocument, { id: createProduct.id });
    expect(product).toEqual({
      id: createProduct.id,
      sku: input.sku,
      name: input.name,
      description: input.description,
      price: { amount: 4321, currency: "USD" },
      category: { id: category.id, name: category.name, slug: category.slug },
      stock: 0,
      inStock: false,
    });
  });

  it("lets an ADMIN create and restock a product that search then finds in stock, with one correlation id in every worker's logs", async () => {
    const { client } = await platform.login(admin.email);
    const correlationId = `e2e-events-${randomBytes(4).toString("hex")}`;
    const traced = client.withHeaders({ "x-correlation-id": correlationId });
    const word = `zephyr${randomBytes(3).toString("hex")}`;
    const category = demoCategories[0]!;
    const { createProduct } = await traced.request(CREATE_PRODUCT, {
      input: { sku: newSku(), name: `Lamp ${word}`, description: `A ${word} lamp.`, priceAmount: 2599, categoryId: category.id },
    });

    // Inventory knows the product once its product.created.v1 arrived: until then restock is NOT_FOUND.
    const restocked = await eventually(async () => {
      try {
        return (await traced.request(RESTOCK, { productId: createProduct.id, quantity: 7 })).restock;
      } catch (error) {
        if (isGraphQLRequestError(error) && error.errors.some((e) => e.extensions?.["code"] === "NOT_FOUND")) return undefined;
        throw error;
      }
    }, "inventory to hear of the new product");
    expect(restocked).toEqual({ id: createProduct.id, stock: 7, inStock: true });

    const hit = await eventually(async () => {
      const { search } = await platform.client().request(SearchDocument, { query: word, first: 5 });
      const node = search.edges.map((e) => e.node).find((n) => n.id === createProduct.id);
      return node?.inStock ? node : undefined;
    }, "search to find the product in stock");
    expect(hit).toMatchObject({ id: createProduct.id, name: `Lamp ${word}`, inStock: true });

    // The request's correlation id went into product.created.v1 and stock.changed.v1 and the workers' log lines.
    for (const worker of ["inventory", "search"] as const) {
      const lines = platform.workers[worker]!.process.output()
        .split("\n")
        .filter((l) => l.includes(correlationId));
      expect(
        lines.some((l) => l.includes('"msg":"message applied"')),
        `${worker} worker logs ${correlationId}`,
      ).toBe(true);
    }
  });

  it("welcomes a new user with a notification, delivered once through the development transport", async () => {
    const email = `new-${randomBytes(4).toString("hex")}@example.com`;
    const { register } = await platform.client().request(RegisterDocument, { input: { email, password: "password123", name: "Newcomer" } });
    const client = platform.client().withToken(register.token);
    const notifications = await eventually(async () => {
      const { me } = await client.request(MY_NOTIFICATIONS);
      return me?.notifications.length ? me.notifications : undefined;
    }, "the welcome notification");
    expect(notifications).toEqual([{ subject: "Welcome to the shop" }]);
    const sent = await eventually(async () => {
      const rows = await sql(
        platform.subgraphs.notifications.db.url,
        "SELECT address, subject FROM development_messages WHERE address = $1",
        [email],
      );
      return rows.length > 0 ? rows : undefined;
    }, "the welcome email to be sent");
    expect(sent).toEqual([{ address: email, subject: "Welcome to the shop" }]);
  });
});

/** Polls `check` until it returns a value (conditions, not sleeps: events take a moment), for up to 30 s. */
async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const RESTOCK = parse(/* GraphQL */ `
  mutation Restock($productId: ID!, $quantity: Int!) {
    restock(productId: $productId, quantity: $quantity) {
      id
      stock
      inStock
    }
  }
`) as TypedDocumentNode<{ restock: { id: string; stock: number; inStock: boolean } }, { productId: string; quantity: number }>;

/** A SKU no other test uses, e.g. `E2E-4F9A1C`. */
function newSku(): string {
  return `E2E-${randomBytes(3).toString("hex").toUpperCase()}`;
}
