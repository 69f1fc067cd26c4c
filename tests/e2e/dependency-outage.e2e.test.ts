/**
 * A database outage under load, with real processes: the users subgraph on a private Postgres cluster of this test
 * (never the machine's shared one), the gateway in front, clients registering and reading through the gateway.
 * Postgres is stopped and started again while they run:
 * - while it is down, the subgraph answers HTTP 503 with Retry-After and SUBGRAPH_UNAVAILABLE (no driver text), and
 *   clients get SUBGRAPH_UNAVAILABLE naming users through the gateway, whose breaker opens on those 503s; nothing
 *   else, and no crash;
 * - once it is back, the same processes serve again (no restart);
 * - every acknowledged registration is in the database, and no refused one left a row.
 * And the same for orders, whose placeOrder writes an order, its items and its timeline in one transaction, called
 * directly (its products subgraph, for prices, runs on the shared test Postgres): every acknowledged order is whole,
 * no refused one left any row, and retrying the refused ones with their idempotency keys once Postgres is back
 * creates each exactly once.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { devMasterKeyring } from "@ecom/auth";
import { bootstrapDatabases, databaseUrlFor, discoverServiceDatabases, parsePgUrl, withPgClient } from "@ecom/db";
import { demoProducts } from "@ecom/demo-data";
import {
  createTestDatabase,
  getFreePort,
  ROOT_DIR,
  runSeed,
  signedHeaders,
  startPrivatePostgres,
  startService,
  unreachableSubgraphs,
  waitFor,
  type PrivatePostgres,
  type RequestHeaders,
  type RunningProcess,
  type TestDatabase,
} from "@ecom/testing";

interface Answer {
  status: number;
  headers: Headers;
  body: { data?: Record<string, unknown> | null; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
}

async function post(url: string, query: string, variables?: Record<string, unknown>, headers: RequestHeaders = {}): Promise<Answer> {
  const body = JSON.stringify({ query, variables });
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(typeof headers === "function" ? headers(body, new URL(url)) : headers) },
    body,
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Answer["body"] };
}

const until = (what: string, predicate: () => boolean | Promise<boolean>, diagnostics: () => string) =>
  waitFor(what, predicate, { timeoutMs: 60_000, diagnostics });

const PLACE_ORDER = "mutation ($input: PlaceOrderInput!) { placeOrder(input: $input) { id items { quantity } } }";

const REGISTER = "mutation ($input: RegisterInput!) { register(input: $input) { token user { id email } } }";

describe("Postgres outage under load", () => {
  let pg: PrivatePostgres;
  let pgDown = false;
  let products: RunningProcess;
  let productsDb: TestDatabase;
  let orders: RunningProcess;
  let ordersUrl: string;
  let ordersDatabaseUrl: string;
  let users: RunningProcess;
  let gateway: RunningProcess;
  let databaseUrl: string;
  let usersUrl: string;
  let gatewayUrl: string;

  beforeAll(async () => {
    const [productsPort, ordersPort, usersPort, gatewayPort] = [
      await getFreePort(),
      await getFreePort(),
      await getFreePort(),
      await getFreePort(),
    ];
    const usersOrigin = `http://127.0.0.1:${usersPort}`;
    usersUrl = `${usersOrigin}/graphql`;
    ordersUrl = `http://127.0.0.1:${ordersPort}/graphql`;
    const unreachable = await unreachableSubgraphs(["users"]);

    // Three things at once (a loaded 2-core machine): the private Postgres with users and orders on it, products
    // (prices for placeOrder) on a seeded clone of the shared test Postgres, and the gateway.
    const privateSide = async () => {
      pg = await startPrivatePostgres();
      const services = discoverServiceDatabases(ROOT_DIR).filter((s) => s.name === "users" || s.name === "orders");
      databaseUrl = databaseUrlFor("users", { prefix: "ecom_outage", host: "127.0.0.1", port: pg.port });
      ordersDatabaseUrl = databaseUrlFor("orders", { prefix: "ecom_outage", host: "127.0.0.1", port: pg.port });
      await bootstrapDatabases({ adminUrl: pg.adminUrl, services, urlFor: (name) => (name === "users" ? databaseUrl : ordersDatabaseUrl) });
      // Ports picked in advance: the gateway and orders are handed these URLs while users and products boot.
      const subgraph = (name: "users" | "orders", port: number, env: Record<string, string>) => startService(name, { port, env });
      await Promise.all([
        subgraph("users", usersPort, { DATABASE_URL: databaseUrl }).then((p) => (users = p)),
        subgraph("orders", ordersPort, { DATABASE_URL: ordersDatabaseUrl, PRODUCTS_URL: `http://127.0.0.1:${productsPort}/graphql` }).then(
          (p) => (orders = p),
        ),
      ]);
    };
    const productsSide = async () => {
      productsDb = await createTestDatabase(inject("testRun"), "products");
      await runSeed("products", productsDb.url);
      products = await startService("products", { port: productsPort, logLevel: "warn", env: { DATABASE_URL: productsDb.url } });
    };
    const gatewaySide = async () => {
      const service = await startService("gateway", {
        port: gatewayPort,
        logLevel: "warn",
        env: {
          SUBGRAPH_USERS_URL: usersUrl,
          JWKS_URL: `${usersOrigin}/.well-known/jwks.json`,
          SUBGRAPH_TIMEOUT: "20s",
          // Live configuration of this file only: the default prefix is every gateway's on the machine.
          CONTROL_PLANE_PREFIX: `${inject("testRun").redisPrefix}outage-e2e:`,
          SUPERGRAPH_WATCH: "false",
          // Registrations under load from one address: the default register rules would refuse them, and rate
          // limiting is not what this test is about (gateway/tests/rate-limit.e2e.test.ts is).
          RATE_LIMIT: "false",
          ...unreachable,
        },
        readyPath: "/health/live",
      });
      gateway = service;
      gatewayUrl = service.url;
    };
    // allSettled: whatever started is in place for afterAll to stop, even when one side failed.
    const failed = (await Promise.allSettled([privateSide(), productsSide(), gatewaySide()])).filter((r) => r.status === "rejected");
    if (failed.length > 0) throw (failed[0] as PromiseRejectedResult).reason;
  });

  afterAll(async () => {
    await Promise.allSettled([gateway, users, orders, products].map((p) => p?.stop()));
    await productsDb?.drop();
    await pg?.dispose();
  });

  /** Stops the private Postgres; `restart` undoes it (and a failing test's `finally` does, for the next test). */
  async function stopPostgres() {
    await pg.stop();
    pgDown = true;
  }
  async function startPostgres() {
    if (!pgDown) return;
    await pg.start();
    pgDown = false;
  }

  it("answers coded retryable errors while Postgres is down, recovers when it is back, and loses or half-writes nothing", async () => {
    const acknowledged: string[] = [];
    const refused: string[] = [];
    const unexpected: string[] = [];
    let reads = { ok: 0, refused: 0 };
    let phase: "before" | "down" | "after" = "before";
    const afterRecovery = { registered: 0, reads: 0 };
    const tokens: string[] = [];

    const isRefusal = (a: Answer) =>
      a.status === 200 &&
      (a.body.errors ?? []).length > 0 &&
      a.body.errors!.every((e) => e.extensions?.["code"] === "SUBGRAPH_UNAVAILABLE" && e.extensions?.["serviceName"] === "users");

    let loading = true;
    const writer = async () => {
      while (loading) {
        const email = `outage-${randomUUID()}@example.com`;
        try {
          const a = await post(gatewayUrl, REGISTER, { input: { email, password: "password123", name: "Outage" } });
          const registered = (a.body.data?.["register"] as { token: string; user: { email: string } } | undefined) ?? undefined;
          if (a.status === 200 && !a.body.errors && registered?.user.email === email) {
            acknowledged.push(email);
            tokens.push(registered.token);
            if (phase === "after") afterRecovery.registered += 1;
          } else if (isRefusal(a)) {
            refused.push(email);
            await new Promise((r) => setTimeout(r, 20));
          } else unexpected.push(`register: ${a.status} ${JSON.stringify(a.body)}`);
        } catch (error) {
          unexpected.push(`register: ${String(error)}`);
        }
      }
    };
    const reader = async () => {
      while (loading) {
        const token = tokens[Math.floor(Math.random() * tokens.length)];
        if (!token) {
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        try {
          const a = await post(gatewayUrl, "{ me { id email } }", undefined, { authorization: `Bearer ${token}` });
          if (a.status === 200 && !a.body.errors && (a.body.data?.["me"] as { id?: string } | null)?.id) {
            reads = { ...reads, ok: reads.ok + 1 };
            if (phase === "after") afterRecovery.reads += 1;
          } else if (isRefusal(a)) {
            reads = { ...reads, refused: reads.refused + 1 };
            await new Promise((r) => setTimeout(r, 20));
          } else unexpected.push(`me: ${a.status} ${JSON.stringify(a.body)}`);
        } catch (error) {
          unexpected.push(`me: ${String(error)}`);
        }
      }
    };
    const clients = [writer(), writer(), reader(), reader()];
    const diagnostics = () =>
      `acknowledged ${acknowledged.length}, refused ${refused.length}, reads ${JSON.stringify(reads)}, unexpected ${unexpected.slice(0, 3).join("\n")}\n` +
      `users output:\n${users.output().slice(-3000)}`;

    try {
      await until("registrations and reads before the outage", () => acknowledged.length >= 5 && reads.ok >= 5, diagnostics);

      await stopPostgres();
      phase = "down";
      const refusedBefore = refused.length;
      await until("refusals while Postgres is down", () => refused.length >= refusedBefore + 10 && reads.refused >= 10, diagnostics);

      // The subgraph itself: 503 with Retry-After and a coded, retryable error that names no driver internals.
      const direct = await post(
        usersUrl,
        "{ me { id } }",
        undefined,
        // Signed as the gateway signs (the processes run on the development keys).
        signedHeaders("users", { userId: randomUUID(), role: "CUSTOMER" }, { master: devMasterKeyring() }),
      );
      expect(direct.status).toBe(503);
      expect(direct.headers.get("retry-after")).toBe("1");
      expect(direct.body.errors).toEqual([
        {
          message: "The users service is unavailable right now (postgres): try again later.",
          path: ["me"],
          locations: expect.any(Array),
          extensions: { code: "SUBGRAPH_UNAVAILABLE", serviceName: "users", dependency: "postgres", retryable: true },
        },
      ]);
      expect(JSON.stringify(direct.body)).not.toMatch(/reach database|prisma|ECONNREFUSED/i);
      expect((await fetch(new URL("/health/ready", usersUrl))).status).toBe(503);
      const metrics = await (await fetch(new URL("/metrics", usersUrl))).text();
      expect(metrics).toMatch(/^subgraph_dependency_unavailable_total\{dependency="postgres"[^}]*\} [1-9]\d*$/m);

      await startPostgres();
      phase = "after";
      await until("full recovery", () => afterRecovery.registered >= 5 && afterRecovery.reads >= 5, diagnostics);
      expect((await fetch(new URL("/health/ready", usersUrl))).status).toBe(200);
      // The gateway's breaker counted the 503s: it opened for users during the outage and is closed again now.
      const gatewayMetrics = await (await fetch(new URL("/metrics", gatewayUrl))).text();
      expect(gatewayMetrics).toMatch(/^gateway_breaker_transitions_total\{[^}]*subgraph="users"[^}]*to="OPEN"[^}]*\} [1-9]\d*$/m);
      expect(gatewayMetrics).toMatch(/^gateway_breaker_state\{[^}]*subgraph="users"[^}]*\} 0$/m);
    } finally {
      loading = false;
      await Promise.all(clients);
      await startPostgres();
    }

    expect(unexpected).toEqual([]);
    expect(refused.length).toBeGreaterThanOrEqual(10);
    // Same processes throughout: recovery needed no restart.
    expect(users.child.exitCode).toBeNull();
    expect(gateway.child.exitCode).toBeNull();
    expect(users.output()).toContain("postgres unavailable: answering 503");

    const rows = await withPgClient(
      parsePgUrl(databaseUrl),
      async (c) => (await c.query<{ email: string }>("SELECT email FROM users")).rows,
    );
    const stored = new Set(rows.map((r) => r.email));
    expect(
      acknowledged.filter((email) => !stored.has(email)),
      "acknowledged but lost",
    ).toEqual([]);
    expect(
      refused.filter((email) => stored.has(email)),
      "refused but written",
    ).toEqual([]);
    expect(stored.size).toBe(acknowledged.length);
  }, 150_000);

  it("keeps placeOrder's transaction whole through an outage: acknowledged orders complete, refused ones absent, retries exactly once", async () => {
    const buyer = { userId: randomUUID(), role: "CUSTOMER" as const };
    const headers = signedHeaders("orders", buyer, { master: devMasterKeyring() });
    const lines = demoProducts.slice(0, 3).map((p, i) => ({ productId: p.id, quantity: i + 1 }));
    const place = (key: string) =>
      post(ordersUrl, PLACE_ORDER, { input: { items: lines, paymentToken: "tok_visa", idempotencyKey: key } }, headers);

    const acknowledged = new Map<string, string>();
    const refused: string[] = [];
    const unexpected: string[] = [];
    let down = false;
    let refusedWhileDown = 0;
    let loading = true;
    const client = async () => {
      while (loading) {
        const key = `outage-${randomUUID()}`;
        try {
          const a = await place(key);
          const order = a.body.data?.["placeOrder"] as { id: string; items: unknown[] } | undefined;
          if (a.status === 200 && !a.body.errors && order?.items.length === lines.length) acknowledged.set(key, order.id);
          else if (a.status === 503 && a.body.errors?.every((e) => e.extensions?.["code"] === "SUBGRAPH_UNAVAILABLE")) {
            refused.push(key);
            if (down) refusedWhileDown += 1;
            await new Promise((r) => setTimeout(r, 20));
          } else unexpected.push(`${a.status} ${JSON.stringify(a.body)}`);
        } catch (error) {
          unexpected.push(String(error));
        }
      }
    };
    const clients = [client(), client(), client()];
    const diagnostics = () =>
      `acknowledged ${acknowledged.size}, refused ${refused.length}, unexpected ${unexpected.slice(0, 3).join("\n")}\norders output:\n${orders.output().slice(-3000)}`;
    try {
      await until("orders before the outage", () => acknowledged.size >= 5, diagnostics);
      await stopPostgres();
      down = true;
      await until("refusals while Postgres is down", () => refusedWhileDown >= 10, diagnostics);
      await startPostgres();
      down = false;
      const before = acknowledged.size;
      await until("orders after the outage", () => acknowledged.size >= before + 5, diagnostics);
    } finally {
      loading = false;
      await Promise.all(clients);
      await startPostgres();
    }
    expect(unexpected).toEqual([]);

    const ordersIn = async () =>
      withPgClient(parsePgUrl(ordersDatabaseUrl), async (c) => {
        const rows = await c.query<{ key: string; id: string; items: number; events: number }>(
          `SELECT o.idempotency_key AS key, o.id::text AS id,
                  (SELECT count(*)::int FROM order_items i WHERE i.order_id = o.id) AS items,
                  (SELECT count(*)::int FROM order_events e WHERE e.order_id = o.id) AS events
             FROM orders o`,
        );
        return new Map(rows.rows.map((r) => [r.key, r]));
      });
    const stored = await ordersIn();
    for (const [key, id] of acknowledged) {
      expect(stored.get(key), `acknowledged order ${key}`).toMatchObject({ id, items: lines.length });
      expect(stored.get(key)!.events).toBeGreaterThan(0);
    }
    expect(
      refused.filter((key) => stored.has(key)),
      "refused but (partly) written",
    ).toEqual([]);
    expect(stored.size).toBe(acknowledged.size);

    // A refused placeOrder is safe to retry: each key now creates its order, once, however often it is sent.
    const retried = refused.slice(0, 5);
    for (const key of retried) {
      const [first, again] = [await place(key), await place(key)];
      expect(first.body.errors).toBeUndefined();
      expect((again.body.data?.["placeOrder"] as { id: string }).id).toBe((first.body.data?.["placeOrder"] as { id: string }).id);
    }
    const afterRetries = await ordersIn();
    expect(afterRetries.size).toBe(acknowledged.size + retried.length);
    for (const key of retried) expect(afterRetries.get(key)).toMatchObject({ items: lines.length });
  }, 150_000);
});
