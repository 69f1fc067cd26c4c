import { createTestDatabase } from "@ecom/testing";
import { describe, expect, inject, it } from "vitest";
import {
  ADMIN,
  ALICE,
  BOB,
  arrangeOrder,
  codesOf,
  ORDER_FIELDS,
  sql,
  startOrders,
  startProductsStub,
  statementsOn,
  type GraphQLResponse,
} from "./support.ts";

const run = inject("testRun");

const ORDER = /* GraphQL */ `
  query ($id: ID!) {
    order(id: $id) {
      id
      status
      buyer {
        id
      }
      total {
        amount
        currency
      }
    }
  }
`;

const ORDER_ENTITIES = /* GraphQL */ `
  query ($representations: [_Any!]!) {
    _entities(representations: $representations) {
      ... on Order {
        ${ORDER_FIELDS}
      }
    }
  }
`;

const USER_ORDERS = /* GraphQL */ `
  query ($representations: [_Any!]!, $first: Int, $after: String) {
    _entities(representations: $representations) {
      ... on User {
        id
        orders(first: $first, after: $after) {
          totalCount
          pageInfo {
            hasNextPage
            endCursor
          }
          edges {
            cursor
            node {
              id
              createdAt
              buyer {
                id
              }
              items {
                quantity
              }
              timeline {
                status
              }
            }
          }
        }
      }
    }
  }
`;

interface OrdersPage {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  edges: Array<{ cursor: string; node: { id: string; createdAt: string; buyer: { id: string }; items: unknown[]; timeline: unknown[] } }>;
}
type UserOrders = GraphQLResponse<{ _entities: Array<{ id: string; orders: OrdersPage }> }>;

const user = (id: string) => ({ __typename: "User", id });
const order = (id: string) => ({ __typename: "Order", id });

/** Alice's order ids newest first, as the database orders them. */
async function idsNewestFirst(url: string, buyerId: string): Promise<string[]> {
  const rows = await sql<{ id: string }>(url, "SELECT id::text FROM orders WHERE buyer_id = $1 ORDER BY created_at DESC, id DESC", [
    buyerId,
  ]);
  return rows.map((r) => r.id);
}

describe("reading orders", () => {
  it("shows an order to its buyer and to an ADMIN, and null to another user, to anonymous callers and for bad ids", async () => {
    await using db = await createTestDatabase(run, "orders");
    await using products = await startProductsStub([]);
    await using api = await startOrders(db.url, products.url);
    const id = await arrangeOrder(api.repo, ALICE.userId, new Date());

    const asAlice = await api.gql<{ order: { id: string; buyer: { id: string } } }>(ORDER, { id }, ALICE);
    const asAdmin = await api.gql<{ order: { id: string } }>(ORDER, { id }, ADMIN);
    const asBob = await api.gql(ORDER, { id }, BOB);
    const anonymous = await api.gql(ORDER, { id }, null);
    const missing = await api.gql(ORDER, { id: "00000000-0000-4000-8000-000000000999" }, ADMIN);
    const malformed = await api.gql(ORDER, { id: "not-a-uuid" }, ADMIN);

    expect(asAlice.errors).toBeUndefined();
    expect(asAlice.data!.order).toMatchObject({
      id,
      status: "PENDING",
      buyer: { id: ALICE.userId },
      total: { amount: 500, currency: "USD" },
    });
    expect(asAdmin.data!.order.id).toBe(id);
    for (const res of [asBob, anonymous, missing, malformed]) expect(res).toEqual({ data: { order: null } });
  });

  it("resolves Order references with the same rule: another user's order is null", async () => {
    await using db = await createTestDatabase(run, "orders");
    await using products = await startProductsStub([]);
    await using api = await startOrders(db.url, products.url);
    const mine = await arrangeOrder(api.repo, ALICE.userId, new Date());
    const theirs = await arrangeOrder(api.repo, BOB.userId, new Date());

    const res = await api.gql<{ _entities: Array<{ id: string } | null> }>(
      ORDER_ENTITIES,
      { representations: [order(mine), order(theirs), order("nope")] },
      ALICE,
    );

    expect(res.errors).toBeUndefined();
    expect(res.data!._entities.map((e) => e?.id ?? null)).toEqual([mine, null, null]);
  });

  it("loads 100 referenced orders with one statement each for orders, items and timeline", async () => {
    await using db = await createTestDatabase(run, "orders");
    await using products = await startProductsStub([]);
    await using api = await startOrders(db.url, products.url);
    const start = Date.parse("2026-01-01T00:00:00Z");
    const ids: string[] = [];
    for (let i = 0; i < 100; i++) ids.push(await arrangeOrder(api.repo, i % 2 ? ALICE.userId : BOB.userId, new Date(start + i * 1000), 3));

    api.resetStatements();
    const res = await api.gql<{ _entities: Array<{ id: string; items: unknown[]; timeline: Array<{ status: string }> }> }>(
      ORDER_ENTITIES,
      { representations: ids.map(order) },
      ADMIN,
    );

    expect(res.errors).toBeUndefined();
    expect(res.data!._entities.map((e) => e.id)).toEqual(ids);
    expect(res.data!._entities.every((e) => e.items.length === 3 && e.timeline[0]!.status === "PLACED")).toBe(true);
    expect(statementsOn(api.statements, "orders")).toHaveLength(1);
    expect(statementsOn(api.statements, "order_items")).toHaveLength(1);
    expect(statementsOn(api.statements, "order_events")).toHaveLength(1);
    expect(api.statements).toHaveLength(3);
  });

  it("lists several users' orders with one statement for the pages, one for the counts, one for items and one for timeline", async () => {
    await using db = await createTestDatabase(run, "orders");
    await using products = await startProductsStub([]);
    await using api = await startOrders(db.url, products.url);
    const start = Date.parse("2026-01-01T00:00:00Z");
    for (let i = 0; i < 100; i++) await arrangeOrder(api.repo, i < 60 ? ALICE.userId : BOB.userId, new Date(start + i * 1000));

    api.resetStatements();
    const res: UserOrders = await api.gql(USER_ORDERS, { representations: [user(ALICE.userId), user(BOB.userId)], first: 100 }, ADMIN);

    expect(res.errors).toBeUndefined();
    const [alice, bob] = res.data!._entities;
    expect(alice!.orders.totalCount).toBe(60);
    expect(alice!.orders.edges).toHaveLength(60);
    expect(bob!.orders.totalCount).toBe(40);
    expect(bob!.orders.edges.every((e) => e.node.buyer.id === BOB.userId && e.node.items.length === 2)).toBe(true);
    expect(statementsOn(api.statements, "orders")).toHaveLength(2);
    expect(statementsOn(api.statements, "order_items")).toHaveLength(1);
    expect(statementsOn(api.statements, "order_events")).toHaveLength(1);
    expect(api.statements).toHaveLength(4);
  });

  it("pages a user's orders newest first by (createdAt, id), with totalCount, and is not shifted by a new order", async () => {
    await using db = await createTestDatabase(run, "orders");
    await using products = await startProductsStub([]);
    await using api = await startOrders(db.url, products.url);
    const start = Date.parse("2026-03-01T00:00:00Z");
    // 25 orders for alice, 6 of them at the very same instant (the id breaks the tie), and some for bob.
    for (let i = 0; i < 25; i++) await arrangeOrder(api.repo, ALICE.userId, new Date(i < 6 ? start : start + i * 60_000), 1);
    for (let i = 0; i < 3; i++) await arrangeOrder(api.repo, BOB.userId, new Date(start + i), 1);
    const expected = await idsNewestFirst(db.url, ALICE.userId);

    const seen: string[] = [];
    let after: string | null = null;
    const sizes: number[] = [];
    for (let i = 0; i < 10; i++) {
      const res: UserOrders = await api.gql(USER_ORDERS, { representations: [user(ALICE.userId)], first: 10, after }, ALICE);
      expect(res.errors).toBeUndefined();
      const page = res.data!._entities[0]!.orders;
      expect(page.totalCount).toBe(i === 0 ? 25 : 26);
      sizes.push(page.edges.length);
      seen.push(...page.edges.map((e) => e.node.id));
      expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor ?? null);
      // A newer order arriving after the first page does not shift the following pages.
      if (i === 0) await arrangeOrder(api.repo, ALICE.userId, new Date(start + 3_600_000), 1);
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }

    expect(sizes).toEqual([10, 10, 5]);
    expect(seen).toEqual(expected);
  });

  it("answers first: 0 with no edges and the count, and refuses bad page arguments with BAD_USER_INPUT", async () => {
    await using db = await createTestDatabase(run, "orders");
    await using products = await startProductsStub([]);
    await using api = await startOrders(db.url, products.url);
    await arrangeOrder(api.repo, ALICE.userId, new Date(), 1);

    const none: UserOrders = await api.gql(USER_ORDERS, { representations: [user(ALICE.userId)], first: 0 }, ALICE);
    expect(none.data!._entities[0]!.orders).toMatchObject({ totalCount: 1, edges: [], pageInfo: { hasNextPage: true, endCursor: null } });

    const forged = Buffer.from(JSON.stringify({ createdAt: "yesterday", id: "1; DROP TABLE orders" })).toString("base64url");
    for (const args of [{ first: 101 }, { first: -1 }, { after: "garbage" }, { after: forged }]) {
      const res = await api.gql(USER_ORDERS, { representations: [user(ALICE.userId)], ...args }, ALICE);
      expect(codesOf(res)).toEqual(["BAD_USER_INPUT"]);
    }
  });

  it("shows a user's orders to that user and to ADMINs only: anyone else gets an empty connection", async () => {
    await using db = await createTestDatabase(run, "orders");
    await using products = await startProductsStub([]);
    await using api = await startOrders(db.url, products.url);
    for (let i = 0; i < 3; i++) await arrangeOrder(api.repo, ALICE.userId, new Date(Date.now() - i * 1000), 1);

    const total = async (identity: typeof ALICE | null) => {
      const res: UserOrders = await api.gql(USER_ORDERS, { representations: [user(ALICE.userId)] }, identity);
      expect(res.errors).toBeUndefined();
      return [res.data!._entities[0]!.orders.totalCount, res.data!._entities[0]!.orders.edges.length];
    };
    expect(await total(ALICE)).toEqual([3, 3]);
    expect(await total(ADMIN)).toEqual([3, 3]);
    expect(await total(BOB)).toEqual([0, 0]);
    expect(await total(null)).toEqual([0, 0]);
  });
});
