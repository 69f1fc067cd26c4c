import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SubgraphUnavailableError } from "../src/subgraph-datasource.ts";
import {
  ACCOUNTS_SDL,
  CATALOG_SDL,
  ErrorCode,
  LEGACY_SDL,
  composeFixture,
  gql,
  startAccounts,
  startCatalog,
  startGateway,
  startRawSubgraph,
  testTokens,
  type FixtureSubgraph,
} from "./helpers.ts";

const supergraph = composeFixture({ accounts: ACCOUNTS_SDL, catalog: CATALOG_SDL, legacy: LEGACY_SDL });

describe("the gateway in front of running subgraphs", () => {
  let accounts: FixtureSubgraph;
  let catalog: FixtureSubgraph;
  let legacy: FixtureSubgraph;
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  let tokens: Awaited<ReturnType<typeof testTokens>>;

  beforeAll(async () => {
    tokens = await testTokens();
    [accounts, catalog, legacy] = await Promise.all([
      startAccounts(),
      startCatalog(),
      startRawSubgraph({ status: 200, body: "<html>oops</html>" }),
    ]);
    gateway = await startGateway(
      supergraph,
      { accounts: accounts.url, catalog: catalog.url, legacy: legacy.url },
      { verifyToken: tokens.verifyToken },
    );
  });
  afterAll(async () => {
    await gateway?.stop();
    await Promise.all([accounts?.stop(), catalog?.stop(), legacy?.stop()]);
  });

  it("answers { __typename }", async () => {
    const { status, body } = await gql(gateway.url, "{ __typename }");
    expect(status).toBe(200);
    expect(body).toEqual({ data: { __typename: "Query" } });
  });

  it("plans across subgraphs: a user's fields from two services", async () => {
    const token = await tokens.issue({ id: "u-1", role: "CUSTOMER" });
    const { body } = await gql(gateway.url, "{ me { id name wishlistSize } products { name } }", {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(body).toEqual({ data: { me: { id: "u-1", name: "user u-1", wishlistSize: 3 }, products: [{ name: "Mug" }] } });
  });

  it("treats a request without a token as anonymous", async () => {
    const { status, body } = await gql(gateway.url, "{ me { id } }");
    expect(status).toBe(200);
    expect(body).toEqual({ data: { me: null } });
  });

  it("forwards the verified identity inside a signed request, and signs anonymous requests too", async () => {
    const token = await tokens.issue({ id: "u-2", role: "ADMIN" });
    accounts.received.length = 0;
    const { body } = await gql(gateway.url, "{ seen { userId role } }", { headers: { authorization: `Bearer ${token}` } });
    expect(body.data).toEqual({ seen: { userId: "u-2", role: "ADMIN" } });
    expect(accounts.received[0]).toMatchObject({ "x-ecom-caller": "gateway", "x-ecom-key-id": "dev", "x-user-id": "u-2" });
    expect(accounts.received[0]?.["x-ecom-signature"]).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(accounts.received[0]?.["authorization"]).toBeUndefined();
    accounts.received.length = 0;
    await gql(gateway.url, "{ seen { userId } }");
    expect(accounts.received[0]).toMatchObject({ "x-ecom-caller": "gateway" });
    expect(accounts.received[0]?.["x-user-id"]).toBeUndefined();
  });

  it("answers 401 UNAUTHENTICATED for a token it cannot verify, and runs nothing", async () => {
    const forged = await (
      await import("@ecom/auth")
    ).createTokenIssuer(tokens.otherKey, { ...tokens.settings, ttlSeconds: 300 })({ id: "u-3", role: "ADMIN" });
    for (const authorization of [`Bearer ${forged}`, "Bearer not.a.jwt", "Basic dXNlcjpwYXNz"]) {
      accounts.received.length = 0;
      const { status, headers, body } = await gql(gateway.url, "{ me { id } }", { headers: { authorization } });
      expect(status).toBe(401);
      expect(headers.get("www-authenticate")).toContain("Bearer");
      expect(body.data).toBeUndefined();
      expect(body.errors?.[0]?.extensions?.["code"]).toBe(ErrorCode.UNAUTHENTICATED);
      expect(accounts.received).toHaveLength(0);
    }
  });

  it("ignores identity headers a client sends itself", async () => {
    accounts.received.length = 0;
    const { body } = await gql(gateway.url, "{ me { id } seen { userId role } }", {
      headers: { "x-user-id": "someone-else", "x-user-role": "ADMIN", "x-ecom-caller": "orders", "x-ecom-signature": "guess" },
    });
    expect(body.data).toEqual({ me: null, seen: { userId: null, role: null } });
    expect(accounts.received[0]?.["x-user-id"]).toBeUndefined();
    expect(accounts.received[0]?.["x-ecom-caller"]).toBe("gateway");
  });

  it("propagates the client's correlation id to the subgraphs and echoes it", async () => {
    accounts.received.length = 0;
    const { headers, body } = await gql(gateway.url, "{ seen { correlationId } }", { headers: { "x-correlation-id": "checkout-42" } });
    expect(body.data).toEqual({ seen: { correlationId: "checkout-42" } });
    expect(headers.get("x-correlation-id")).toBe("checkout-42");
    expect(accounts.received[0]?.["x-correlation-id"]).toBe("checkout-42");
  });

  it("gives every request a correlation id when the client sends none", async () => {
    accounts.received.length = 0;
    const { headers, body } = await gql(gateway.url, "{ seen { correlationId } }");
    const id = headers.get("x-correlation-id");
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.data).toEqual({ seen: { correlationId: id } });
  });

  it("passes subgraph error codes through unchanged, naming the service", async () => {
    for (const code of [ErrorCode.BAD_USER_INPUT, ErrorCode.FORBIDDEN, ErrorCode.NOT_FOUND, ErrorCode.INSUFFICIENT_STOCK]) {
      const { body } = await gql(gateway.url, "query($code: String!) { fail(code: $code) }", { variables: { code } });
      expect(body.data).toEqual({ fail: null });
      expect(body.errors).toHaveLength(1);
      expect(body.errors?.[0]?.extensions).toMatchObject({ code, serviceName: "accounts" });
      expect(body.errors?.[0]?.path).toEqual(["fail"]);
    }
    const { body } = await gql(gateway.url, '{ fail(code: "BAD_USER_INPUT") }');
    expect(body.errors?.[0]).toMatchObject({ message: "quantity must be positive", extensions: { field: "input.quantity" } });
  });

  it("masks unexpected errors as INTERNAL_SERVER_ERROR without details or stack traces", async () => {
    const fromSubgraph = await gql(gateway.url, "{ boom }");
    expect(fromSubgraph.body.errors?.[0]?.extensions?.["code"]).toBe(ErrorCode.INTERNAL_SERVER_ERROR);
    expect(JSON.stringify(fromSubgraph.body)).not.toMatch(/db-7|stacktrace/);

    // The legacy subgraph answers HTML with 200: the gateway itself fails on it.
    const fromGateway = await gql(gateway.url, "{ legacy }");
    expect(fromGateway.body.data).toEqual({ legacy: null });
    expect(fromGateway.body.errors).toEqual([{ message: "Internal server error.", extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } }]);
  });

  it("serves /health/live, /health/ready (the supergraph loaded; subgraphs reported, not required) and /metrics", async () => {
    expect((await fetch(`${gateway.origin}/health/live`)).status).toBe(200);
    await gateway.subgraphHealth.refresh();
    const ready = await fetch(`${gateway.origin}/health/ready`);
    const report = (await ready.json()) as { checks: Record<string, { status: string }>; dependencies: Record<string, { status: string }> };
    expect(report.checks).toMatchObject({ supergraph: { status: "ok" } });
    // legacy has no /health/live and answers { __typename } with HTML: failing, reported, and the gateway still ready.
    expect(report.dependencies).toMatchObject({
      "subgraph:accounts": { status: "ok" },
      "subgraph:catalog": { status: "ok" },
      "subgraph:legacy": { status: "fail" },
    });
    expect(ready.status).toBe(200);
    const metrics = await (await fetch(`${gateway.origin}/metrics`)).text();
    expect(metrics).toContain("graphql_operation_duration_seconds");
    expect(metrics).toContain('graphql_errors_total{code="UNAUTHENTICATED",service="gateway"}');
  });
});

describe("a subgraph that is down, slow or failing", () => {
  it("makes its part of the response null with SUBGRAPH_UNAVAILABLE while other fields resolve", async () => {
    const tokens = await testTokens();
    const accounts = await startAccounts();
    const catalog = await startCatalog();
    const gateway = await startGateway(
      composeFixture({ accounts: ACCOUNTS_SDL, catalog: CATALOG_SDL }),
      { accounts: accounts.url, catalog: catalog.url },
      {
        verifyToken: tokens.verifyToken,
      },
    );
    try {
      const token = await tokens.issue({ id: "u-9", role: "CUSTOMER" });
      const query = "{ me { id wishlistSize } products { name } }";
      const headers = { authorization: `Bearer ${token}` };
      expect((await gql(gateway.url, query, { headers })).body.errors).toBeUndefined();

      await catalog.stop();
      const { status, body } = await gql(gateway.url, query, { headers });
      expect(status).toBe(200);
      expect(body.data).toEqual({ me: { id: "u-9", wishlistSize: null }, products: null });
      expect(body.errors?.length).toBeGreaterThanOrEqual(1);
      for (const error of body.errors ?? []) {
        // Refused connections (retried, then counted by the breaker, which may open during this very request).
        expect(error.extensions).toEqual({
          code: ErrorCode.SUBGRAPH_UNAVAILABLE,
          serviceName: "catalog",
          reason: expect.stringMatching(/^(ECONNREFUSED|circuit open)$/),
          breakerState: expect.stringMatching(/^(CLOSED|OPEN)$/),
        });
      }

      await gateway.subgraphHealth.refresh();
      const ready = await fetch(`${gateway.origin}/health/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({
        checks: { supergraph: { status: "ok" } },
        dependencies: { "subgraph:accounts": { status: "ok" }, "subgraph:catalog": { status: "fail" } },
      });
      const metrics = await (await fetch(`${gateway.origin}/metrics`)).text();
      expect(metrics).toMatch(/^health_check_up\{check="subgraph:catalog"[^}]*\} 0$/m);
      expect(metrics).toMatch(/^health_check_up\{check="subgraph:accounts"[^}]*\} 1$/m);
    } finally {
      await gateway.stop();
      await accounts.stop();
    }
  });

  it("gives up on a subgraph after SUBGRAPH_TIMEOUT", async () => {
    const accounts = await startAccounts();
    const catalog = await startCatalog(2000);
    const gateway = await startGateway(
      composeFixture({ accounts: ACCOUNTS_SDL, catalog: CATALOG_SDL }),
      { accounts: accounts.url, catalog: catalog.url },
      {
        env: { SUBGRAPH_TIMEOUT: 300 },
      },
    );
    try {
      const started = Date.now();
      const { body } = await gql(gateway.url, "{ slow me { id } }");
      expect(Date.now() - started).toBeLessThan(1500);
      expect(body.data).toEqual({ slow: null, me: null });
      expect(body.errors?.[0]?.extensions).toEqual({
        code: ErrorCode.SUBGRAPH_UNAVAILABLE,
        serviceName: "catalog",
        reason: "timeout",
        breakerState: "CLOSED",
      });
    } finally {
      await gateway.stop();
      await Promise.all([accounts.stop(), catalog.stop()]);
    }
  });

  it("treats 503 as unavailable, and passes GraphQL errors of a non-2xx answer through", async () => {
    const down = await startRawSubgraph({ status: 503, body: "upstream overloaded" });
    const gateway = await startGateway(composeFixture({ legacy: LEGACY_SDL }), { legacy: down.url });
    const coded = await startRawSubgraph({
      status: 401,
      contentType: "application/json",
      body: JSON.stringify({
        errors: [{ message: "Identity headers are accepted only from the gateway.", extensions: { code: "UNAUTHENTICATED" } }],
      }),
    });
    const gateway2 = await startGateway(composeFixture({ legacy: LEGACY_SDL }), { legacy: coded.url });
    try {
      const unavailable = await gql(gateway.url, "{ legacy }");
      expect(unavailable.body).toEqual({
        data: { legacy: null },
        errors: [
          {
            message: expect.stringContaining("legacy service is unavailable"),
            extensions: { code: "SUBGRAPH_UNAVAILABLE", serviceName: "legacy", reason: "HTTP 503", breakerState: "CLOSED" },
          },
        ],
      });
      const passed = await gql(gateway2.url, "{ legacy }");
      expect(passed.body.errors?.[0]).toMatchObject({
        message: "Identity headers are accepted only from the gateway.",
        extensions: { code: "UNAUTHENTICATED", serviceName: "legacy" },
      });
    } finally {
      await Promise.all([gateway.stop(), gateway2.stop()]);
      await Promise.all([down.stop(), coded.stop()]);
    }
  });

  it("lets a fetch wrapper short-circuit a subgraph", async () => {
    const accounts = await startAccounts();
    const catalog = await startCatalog();
    const calls: string[] = [];
    const gateway = await startGateway(
      composeFixture({ accounts: ACCOUNTS_SDL, catalog: CATALOG_SDL }),
      { accounts: accounts.url, catalog: catalog.url },
      {
        wrapFetch: (fetch, subgraph) => async (url, init) => {
          calls.push(subgraph);
          if (subgraph === "catalog") throw new SubgraphUnavailableError(subgraph, "circuit open");
          return fetch(url, init);
        },
      },
    );
    try {
      catalog.received.length = 0;
      const { body } = await gql(gateway.url, "{ products { name } seen { secretOk } }");
      expect(body.data).toEqual({ products: null, seen: { secretOk: true } });
      expect(body.errors?.[0]?.extensions).toEqual({
        code: "SUBGRAPH_UNAVAILABLE",
        serviceName: "catalog",
        reason: "circuit open",
        breakerState: "CLOSED",
      });
      expect(catalog.received).toHaveLength(0);
      expect(calls.sort()).toEqual(["accounts", "catalog"]);
    } finally {
      await gateway.stop();
      await Promise.all([accounts.stop(), catalog.stop()]);
    }
  });
});

describe("landing page and shutdown", () => {
  const sdl = composeFixture({ legacy: LEGACY_SDL });
  const browserGet = (url: string) => fetch(url, { headers: { accept: "text/html" } });

  it("serves Apollo Sandbox in development only", async () => {
    const dev = await startGateway(sdl, { legacy: "http://127.0.0.1:9/graphql" }, { env: { NODE_ENV: "development" } });
    const prod = await startGateway(sdl, { legacy: "http://127.0.0.1:9/graphql" }, { env: { NODE_ENV: "production" } });
    try {
      const page = await browserGet(dev.url);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/sandbox/i);
      const none = await browserGet(prod.url);
      expect(none.status).not.toBe(200);
      expect(await none.text()).not.toMatch(/sandbox/i);
    } finally {
      await Promise.all([dev.stop(), prod.stop()]);
    }
  });

  it("stops gracefully: in-flight requests finish, then the port is closed (idempotent)", async () => {
    const catalog = await startCatalog(300);
    const gateway = await startGateway(composeFixture({ catalog: CATALOG_SDL }), { catalog: catalog.url });
    try {
      const inFlight = gql(gateway.url, "{ slow }");
      await new Promise((r) => setTimeout(r, 100));
      await Promise.all([gateway.stop(), gateway.stop()]);
      expect((await inFlight).body.data).toEqual({ slow: "finally" });
      await expect(fetch(`${gateway.origin}/health/live`)).rejects.toThrow();
    } finally {
      await catalog.stop();
    }
  });
});
