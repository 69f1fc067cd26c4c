/**
 * Test harness: the orders server on a free port over a private database (every SQL statement recorded), and a
 * stub products subgraph (a real federation subgraph over HTTP) that answers `_entities` with prices.
 */
import { randomUUID } from "node:crypto";
import { pairKeyringFromMaster } from "@ecom/auth";
import { createLogger, createMetrics } from "@ecom/observability";
import { createSubgraphServer, type SubgraphServer } from "@ecom/service";
import { sql, startSubgraphForTest, TEST_SIGNING_KEYS, testIdentities, testSubgraphSigning, type RunningSubgraph } from "@ecom/testing";
import { parse } from "graphql";
import { OrdersRepository } from "../src/datasources/orders.ts";
import { createDatabase, type Database } from "../src/datasources/prisma.ts";
import { createServer } from "../src/server.ts";

export { codesOf, sql, type GraphQLResponse } from "@ecom/testing";

export const { alice: ALICE, bob: BOB, admin: ADMIN } = testIdentities;

// ---------------------------------------------------------------------------------------------------------------
// Stub products subgraph
// ---------------------------------------------------------------------------------------------------------------

/** A product the stub knows: its current price. */
export interface StubProduct {
  id: string;
  amount: number;
  currency: string;
}

export interface ProductsStub extends AsyncDisposable {
  url: string;
  /** Current prices by id; change them to reprice. */
  products: Map<string, StubProduct>;
  /** HTTP POSTs to /graphql received so far. */
  calls: number;
  /** Representations resolved so far. */
  references: number;
  /** When true, every lookup fails with a GraphQL error (the subgraph is up but broken). */
  failing: boolean;
  /** Delay before each answer, in ms (lets concurrent requests all get past their first checks). */
  delayMs: number;
  stop(): Promise<void>;
}

const productsTypeDefs = parse(/* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable"])
  type Money @shareable {
    amount: Int!
    currency: String!
  }
  type Product @key(fields: "id") {
    id: ID!
    price: Money!
  }
`);

/**
 * Starts a products subgraph serving `products` (ids compared in lower case, as Postgres prints UUIDs) on `port`
 * (a free one by default).
 */
export async function startProductsStub(products: StubProduct[], port = 0): Promise<ProductsStub> {
  let server: SubgraphServer | undefined = undefined;
  const stub: ProductsStub = {
    url: "",
    products: new Map(products.map((p) => [p.id, p])),
    calls: 0,
    references: 0,
    failing: false,
    delayMs: 0,
    stop: async () => {
      await server?.stop();
    },
    [Symbol.asyncDispose]: async () => {
      await server?.stop();
    },
  };
  server = await createSubgraphServer({
    // The name calls are signed for: the stub plays products.
    name: "products",
    typeDefs: productsTypeDefs,
    resolvers: {
      Product: {
        __resolveReference: (ref: { id: string }) => {
          stub.references++;
          if (stub.failing) throw new Error("products stub is failing");
          const product = stub.products.get(ref.id.toLowerCase());
          return product ? { id: product.id, price: { amount: product.amount, currency: product.currency } } : null;
        },
      },
    },
    logger: createLogger({ service: "products-stub", level: "silent" }),
    metrics: createMetrics({ service: "products-stub", defaultMetrics: false }),
    checks: [],
    signing: testSubgraphSigning("products"),
    createLoaders: () => ({}),
    routes: (app) =>
      app.use("/graphql", (req, _res, next) => {
        if (req.method === "POST") stub.calls++;
        if (stub.delayMs > 0) setTimeout(next, stub.delayMs);
        else next();
      }),
  });
  stub.url = (await server.listen(port, "127.0.0.1")).url;
  return stub;
}

/** `n` products priced 100, 200, 300... cents in `currency`, with fresh ids. */
export function makeProducts(n: number, currency = "USD"): StubProduct[] {
  return Array.from({ length: n }, (_, i) => ({ id: randomUUID(), amount: (i + 1) * 100, currency }));
}

// ---------------------------------------------------------------------------------------------------------------
// Orders server
// ---------------------------------------------------------------------------------------------------------------

export interface RunningOrders extends RunningSubgraph {
  /** The server's own database handle and repository (for arranging data directly). */
  db: Database;
  repo: OrdersRepository;
}

/** Starts the orders subgraph against `databaseUrl`, pricing with the products subgraph at `productsUrl`. */
export async function startOrders(databaseUrl: string, productsUrl: string): Promise<RunningOrders> {
  let db: Database | undefined;
  const running = await startSubgraphForTest({
    service: "orders",
    databaseUrl,
    build: async ({ onQuery, deps }) => {
      db = createDatabase(databaseUrl, { max: 10, onQuery });
      const env = {
        ...deps.env,
        PRODUCTS_URL: productsUrl,
        PRODUCTS_TIMEOUT: 2000,
        // Orders signs its price lookups as itself, with K(orders -> products) from the test master keys.
        PRODUCTS_SIGNING_KEYS: pairKeyringFromMaster(TEST_SIGNING_KEYS, "orders", "products"),
      };
      return { server: await createServer({ ...deps, env, db }), close: db.close };
    },
  });
  return Object.assign(running, { db: db!, repo: new OrdersRepository(db!.prisma) });
}

/** Row counts of the orders tables, read with plain SQL. */
export async function countRows(databaseUrl: string): Promise<{ orders: number; items: number; events: number }> {
  const [counts] = await sql<{ orders: number; items: number; events: number }>(
    databaseUrl,
    `SELECT (SELECT count(*)::int FROM orders) AS orders, (SELECT count(*)::int FROM order_items) AS items,
            (SELECT count(*)::int FROM order_events) AS events`,
  );
  return counts!;
}

/** Statements that read or write `table` (by its quoted name as Prisma writes it, or bare in raw SQL). */
export function statementsOn(statements: readonly string[], table: "orders" | "order_items" | "order_events"): string[] {
  const pattern = new RegExp(`\\bFROM\\s+(?:"public"\\.)?"?${table}"?(?![_a-z])`, "i");
  return statements.filter((sql) => pattern.test(sql));
}

/** Every field of an order (what {@link PlacedOrder} holds). */
export const ORDER_FIELDS = /* GraphQL */ `
  id
  status
  createdAt
  total {
    amount
    currency
  }
  buyer {
    id
  }
  items {
    product {
      id
    }
    quantity
    unitPrice {
      amount
      currency
    }
  }
  timeline {
    at
    step
    status
    detail
  }
`;

export const PLACE_ORDER = /* GraphQL */ `
  mutation Place($input: PlaceOrderInput!) {
    placeOrder(input: $input) {
      ${ORDER_FIELDS}
    }
  }
`;

export interface PlacedOrder {
  id: string;
  status: string;
  createdAt: string;
  total: { amount: number; currency: string };
  buyer: { id: string };
  items: Array<{ product: { id: string }; quantity: number; unitPrice: { amount: number; currency: string } }>;
  timeline: Array<{ at: string; step: string; status: string; detail: string | null }>;
}

let arranged = 0;

/**
 * Writes an order directly through the repository (no products call), placed at `at`, with `lines` items of
 * fresh products priced 100, 200... cents.
 */
export async function arrangeOrder(repo: OrdersRepository, buyerId: string, at: Date, lines = 2): Promise<string> {
  const items = Array.from({ length: lines }, (_, i) => ({
    productId: randomUUID(),
    quantity: i + 1,
    unitAmount: (i + 1) * 100,
    currency: "USD",
  }));
  const result = await repo.create(
    {
      buyerId,
      idempotencyKey: `arranged-${++arranged}-${randomUUID()}`,
      requestHash: "0".repeat(64),
      paymentToken: "tok_visa",
      currency: "USD",
      totalAmount: items.reduce((s, i) => s + i.quantity * i.unitAmount, 0),
      items,
    },
    at,
  );
  return result.order.id;
}
