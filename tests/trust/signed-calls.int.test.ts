/**
 * Signed subgraph calls, checked on every one of the seven subgraphs as data: each is its real server
 * (createServer over a private database, replay nonces in the test run's Redis), called directly, as an attacker
 * who reached its port would. Refused with 401: unsigned (anonymous or not), tampered body, tampered identity
 * header, timestamp outside the window, replayed mutation, a key for another subgraph. Accepted: a signed
 * anonymous call and a signed call for a user. Rotation: a subgraph holding the old and the new key accepts both,
 * then with the old key removed refuses it.
 */
import { generateMasterKey, loadSigningKey, pairKeyringFromMaster, type Identity, type Keyring } from "@ecom/auth";
import type { SubgraphName } from "@ecom/config";
import {
  buildWithDatabase,
  createTestDatabase,
  signedHeaders,
  startSubgraphForTest,
  testIdentities,
  type RunningSubgraph,
  type StartSubgraphForTestOptions,
  type TestDatabase,
} from "@ecom/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createDatabase as inventoryDb } from "../../subgraphs/inventory/src/datasources/prisma.ts";
import { createServer as inventoryServer } from "../../subgraphs/inventory/src/server.ts";
import { createDatabase as notificationsDb } from "../../subgraphs/notifications/src/datasources/prisma.ts";
import { createServer as notificationsServer } from "../../subgraphs/notifications/src/server.ts";
import { createDatabase as ordersDb } from "../../subgraphs/orders/src/datasources/prisma.ts";
import { createServer as ordersServer } from "../../subgraphs/orders/src/server.ts";
import { createDatabase as paymentsDb } from "../../subgraphs/payments/src/datasources/prisma.ts";
import { createServer as paymentsServer } from "../../subgraphs/payments/src/server.ts";
import { createDatabase as productsDb } from "../../subgraphs/products/src/datasources/prisma.ts";
import { createServer as productsServer } from "../../subgraphs/products/src/server.ts";
import { createDatabase as searchDb } from "../../subgraphs/search/src/datasources/prisma.ts";
import { createServer as searchServer } from "../../subgraphs/search/src/server.ts";
import { createDatabase as usersDb } from "../../subgraphs/users/src/datasources/prisma.ts";
import { createServer as usersServer } from "../../subgraphs/users/src/server.ts";

const run = inject("testRun");
const OLD: Keyring = [generateMasterKey("old")];
const NEW: Keyring = [generateMasterKey("new")];

type Build = StartSubgraphForTestOptions["build"];

/** Each subgraph: how to build its server, and a harmless mutation it serves (search has none). */
const SUBGRAPHS: Array<{ name: SubgraphName; build: () => Promise<Build>; mutation: string | null }> = [
  {
    name: "users",
    build: async () => {
      const signingKey = await loadSigningKey();
      return buildWithDatabase(usersDb, (deps) =>
        usersServer({
          ...deps,
          env: { ...deps.env, JWT_ISSUER: "ecom-users", JWT_AUDIENCE: "ecom-gateway", JWT_TTL: 3_600_000 },
          signingKey,
        }),
      );
    },
    mutation: "mutation { __typename }",
  },
  { name: "products", build: async () => buildWithDatabase(productsDb, productsServer), mutation: "mutation { __typename }" },
  { name: "search", build: async () => buildWithDatabase(searchDb, searchServer), mutation: null },
  {
    name: "orders",
    build: async () =>
      buildWithDatabase(ordersDb, (deps) =>
        ordersServer({
          ...deps,
          env: {
            ...deps.env,
            PRODUCTS_URL: "http://127.0.0.1:1/graphql",
            PRODUCTS_TIMEOUT: 1000,
            PRODUCTS_SIGNING_KEYS: pairKeyringFromMaster(OLD, "orders", "products"),
          },
        }),
      ),
    mutation: "mutation { __typename }",
  },
  { name: "payments", build: async () => buildWithDatabase(paymentsDb, paymentsServer), mutation: "mutation { __typename }" },
  { name: "inventory", build: async () => buildWithDatabase(inventoryDb, inventoryServer), mutation: "mutation { __typename }" },
  {
    name: "notifications",
    build: async () => buildWithDatabase(notificationsDb, notificationsServer),
    mutation: "mutation { __typename }",
  },
];

interface Answer {
  status: number;
  body: { data?: Record<string, unknown> | null; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
}

/** POSTs `body` with exactly `headers`. */
async function post(url: string, body: string, headers: Record<string, string>): Promise<Answer> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
  return { status: res.status, body: (await res.json()) as Answer["body"] };
}

/** The headers the gateway would send with `body` to `target`, signed with `master` at `now`. */
function signed(target: string, body: string, url: string, options: { master?: Keyring; identity?: Identity | null; now?: number } = {}) {
  return signedHeaders(target, options.identity ?? null, {
    master: options.master ?? OLD,
    ...(options.now === undefined ? {} : { now: () => options.now! }),
  })(body, new URL(url));
}

const reasonOf = (answer: Answer) => answer.body.errors?.[0]?.extensions?.["reason"];
const query = (text: string) => JSON.stringify({ query: text });
const alice = testIdentities.alice;

describe.each(SUBGRAPHS)("signed calls to $name", ({ name, build, mutation }) => {
  let db: TestDatabase;
  let server: RunningSubgraph;
  const start = async (masterKeys: Keyring) =>
    startSubgraphForTest({ service: name, databaseUrl: db.url, build: await build(), masterKeys, redisUrl: run.redisUrl });

  beforeAll(async () => {
    db = await createTestDatabase(run, name);
    server = await start(OLD);
  });
  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  it("serves a signed anonymous call and a signed call for a user", async () => {
    const body = query("{ __typename }");
    const anonymous = await post(server.url, body, signed(name, body, server.url));
    expect(anonymous).toEqual({ status: 200, body: { data: { __typename: "Query" } } });
    const asAlice = await post(server.url, body, signed(name, body, server.url, { identity: alice }));
    expect(asAlice).toEqual({ status: 200, body: { data: { __typename: "Query" } } });
  });

  it("refuses unsigned calls with 401, anonymous or claiming to be someone", async () => {
    const body = query("{ __typename }");
    const attempts: Array<Record<string, string>> = [{}, { "x-user-id": testIdentities.admin.userId, "x-user-role": "ADMIN" }];
    for (const headers of attempts) {
      const answer = await post(server.url, body, headers);
      expect(answer.status).toBe(401);
      expect(answer.body.errors?.[0]?.extensions).toEqual({ code: "UNAUTHENTICATED", reason: "unsigned" });
      expect(answer.body.data ?? null).toBeNull();
    }
  });

  it("refuses a tampered body, a tampered identity header and a signature outside the window", async () => {
    const body = query("{ __typename }");
    const tamperedBody = await post(server.url, query("{ _service { sdl } }"), signed(name, body, server.url));
    const asCustomer = signed(name, body, server.url, { identity: alice });
    const promoted = await post(server.url, body, { ...asCustomer, "x-user-role": "ADMIN" });
    const stale = await post(server.url, body, signed(name, body, server.url, { now: Date.now() - 31_000 }));
    const early = await post(server.url, body, signed(name, body, server.url, { now: Date.now() + 31_000 }));
    expect([tamperedBody, promoted, stale, early].map((a) => [a.status, reasonOf(a)])).toEqual([
      [401, "bad-signature"],
      [401, "bad-signature"],
      [401, "expired"],
      [401, "expired"],
    ]);
  });

  it("refuses a call signed with the key of another subgraph", async () => {
    const other = name === "products" ? "orders" : "products";
    const body = query("{ __typename }");
    // A valid signature for `other`, sent to this subgraph.
    const answer = await post(server.url, body, signed(other, body, server.url));
    expect([answer.status, reasonOf(answer)]).toEqual([401, "bad-signature"]);
  });

  if (mutation) {
    it("refuses a replayed mutation inside the window", async () => {
      const body = query(mutation);
      const headers = signed(name, body, server.url, { identity: alice });
      expect(await post(server.url, body, headers)).toEqual({ status: 200, body: { data: { __typename: "Mutation" } } });
      const replay = await post(server.url, body, headers);
      expect([replay.status, reasonOf(replay)]).toEqual([401, "replayed"]);
      // The same mutation signed afresh (a retry) is a new request.
      expect((await post(server.url, body, signed(name, body, server.url, { identity: alice }))).status).toBe(200);
    });
  } else {
    it("has no mutation; a replayed query is served again (replay check: mutations, the default)", async () => {
      const body = query("{ __typename }");
      const headers = signed(name, body, server.url);
      for (let i = 0; i < 2; i++) expect((await post(server.url, body, headers)).status).toBe(200);
    });
  }

  it("rotates keys: with old and new held both verify, with the old one removed it is refused", async () => {
    const body = query("{ __typename }");
    await using both = await start([...NEW, ...OLD]);
    expect((await post(both.url, body, signed(name, body, both.url, { master: OLD }))).status).toBe(200);
    expect((await post(both.url, body, signed(name, body, both.url, { master: NEW, identity: alice }))).status).toBe(200);
    await using rotated = await start(NEW);
    const old = await post(rotated.url, body, signed(name, body, rotated.url, { master: OLD }));
    expect([old.status, reasonOf(old)]).toEqual([401, "unknown-key"]);
    expect((await post(rotated.url, body, signed(name, body, rotated.url, { master: NEW }))).status).toBe(200);
  });
});

describe("the replay check when Redis is unreachable", () => {
  it("refuses a mutation with a retryable 503 rather than running it unchecked, and still serves queries", async () => {
    await using db = await createTestDatabase(run, "products");
    await using products = await startSubgraphForTest({
      service: "products",
      databaseUrl: db.url,
      build: buildWithDatabase(productsDb, productsServer),
      masterKeys: OLD,
      redisUrl: "redis://127.0.0.1:1/0",
    });
    const body = query("mutation { __typename }");
    const refused = await post(products.url, body, signed("products", body, products.url));
    expect(refused.status).toBe(503);
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: "SUBGRAPH_UNAVAILABLE", dependency: "redis" });
    const read = query("{ __typename }");
    expect((await post(products.url, read, signed("products", read, products.url))).status).toBe(200);
  });
});
