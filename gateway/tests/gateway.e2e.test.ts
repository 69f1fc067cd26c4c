/**
 * The gateway and the users subgraph as real processes (tsx, as `npm start` runs them), on free ports, with a
 * private clone of the users database. The other subgraphs are pointed at ports where nothing listens, so
 * their part of a response must come back as SUBGRAPH_UNAVAILABLE while the users part still resolves.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createTokenIssuer, loadSigningKey } from "@ecom/auth";
import { createClient, isGraphQLRequestError, LoginDocument, MeDocument, RegisterDocument } from "@ecom/client";
import {
  createTestDatabase,
  rejectionOf,
  startService,
  unreachableSubgraphs,
  type RunningProcess,
  type RunningService,
  type TestDatabase,
} from "@ecom/testing";

const rejection = (promise: Promise<unknown>) => rejectionOf(promise, isGraphQLRequestError);

/**
 * SIGTERM to the process itself (tsx), which relays it to the node process it runs. Signalling the whole group
 * at once (what `RunningProcess.stop` does) races tsx's own relay: tsx may then SIGKILL the child in the middle
 * of its graceful shutdown and exit 143.
 */
async function terminate(proc: RunningProcess, graceMs = 10_000): Promise<number | null> {
  proc.child.kill("SIGTERM");
  const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), graceMs).unref());
  const code = await Promise.race([proc.exited, timeout]);
  await proc.stop();
  if (code === "timeout") throw new Error(`${proc.name} did not stop within ${graceMs} ms:\n${proc.output().slice(-2000)}`);
  return code;
}

async function post(url: string, query: string, headers: Record<string, string> = {}, variables?: Record<string, unknown>) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return {
    status: res.status,
    headers: res.headers,
    body: (await res.json()) as {
      data?: Record<string, unknown> | null;
      errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
    },
  };
}

describe("gateway + users subgraph as processes", () => {
  let db: TestDatabase;
  let users: RunningService;
  let gateway: RunningService;
  let usersOrigin: string;
  let gatewayOrigin: string;
  let gatewayUrl: string;

  beforeAll(async () => {
    db = await createTestDatabase(inject("testRun"), "users");
    // debug: the per-operation log line (with the correlation id) is written at debug level.
    users = await startService("users", { logLevel: "debug", env: { DATABASE_URL: db.url }, readyPath: "/health/ready" });
    usersOrigin = users.origin;
    gateway = await startService("gateway", {
      env: {
        SUBGRAPH_USERS_URL: users.url,
        JWKS_URL: `${usersOrigin}/.well-known/jwks.json`,
        SUBGRAPH_TIMEOUT: "2s",
        // Rate-limit counters and live configuration of this file only: under the default prefix they are shared
        // with every gateway on the machine (register-ip allows 10 a 10 minutes per address).
        CONTROL_PLANE_PREFIX: `${inject("testRun").redisPrefix}gateway-e2e:`,
        // Every other subgraph: a port nothing listens on.
        ...(await unreachableSubgraphs(["users"])),
      },
      // Live, not ready: with most subgraphs unreachable the gateway is (rightly) not ready.
      readyPath: "/health/live",
    });
    gatewayOrigin = gateway.origin;
    gatewayUrl = gateway.url;
  });

  afterAll(async () => {
    await gateway?.stop();
    await users?.stop();
    await db?.drop();
  });

  it("answers { __typename }", async () => {
    const { status, body } = await post(gatewayUrl, "{ __typename }");
    expect(status).toBe(200);
    expect(body).toEqual({ data: { __typename: "Query" } });
  });

  it("registers, signs in and answers me with the Bearer token, through the gateway", async () => {
    const client = createClient({ url: gatewayUrl });
    const email = `e2e-${randomUUID()}@example.com`;
    const registered = await client.request(RegisterDocument, { input: { email, password: "correct horse battery", name: "E2E Buyer" } });
    expect(registered.register.user).toMatchObject({ email, name: "E2E Buyer", role: "CUSTOMER" });

    const { login } = await client.request(LoginDocument, { email, password: "correct horse battery" });
    expect(login.user.id).toBe(registered.register.user.id);

    const { me } = await client.withToken(login.token).request(MeDocument);
    expect(me).toEqual(registered.register.user);
    expect((await client.request(MeDocument)).me).toBeNull();

    // A subgraph's own error codes reach the client unchanged.
    const taken = await rejection(client.request(RegisterDocument, { input: { email, password: "another password", name: "Again" } }));
    expect(taken.codes).toEqual(["BAD_USER_INPUT"]);
    const wrong = await rejection(client.request(LoginDocument, { email, password: "wrong password" }));
    expect(wrong.codes).toEqual(["UNAUTHENTICATED"]);
  });

  it("answers 401 UNAUTHENTICATED for a bad or foreign token", async () => {
    const client = createClient({ url: gatewayUrl });
    const garbage = await rejection(client.withToken("not-a-token").request(MeDocument));
    expect(garbage.status).toBe(401);
    expect(garbage.codes).toEqual(["UNAUTHENTICATED"]);

    // Well-formed, but signed by a key the users subgraph never published.
    const foreignKey = await loadSigningKey();
    const forged = await createTokenIssuer(foreignKey, { issuer: "ecom-users", audience: "ecom-gateway", ttlSeconds: 300 })({
      id: randomUUID(),
      role: "ADMIN",
    });
    const foreign = await rejection(client.withToken(forged).request(MeDocument));
    expect(foreign.status).toBe(401);
    expect(foreign.codes).toEqual(["UNAUTHENTICATED"]);
  });

  it("ignores identity headers a client sends", async () => {
    const client = createClient({ url: gatewayUrl });
    const email = `spoof-${randomUUID()}@example.com`;
    const { register } = await client.request(RegisterDocument, { input: { email, password: "password123", name: "Victim" } });
    const spoof = { "x-user-id": register.user.id, "x-user-role": "ADMIN", "x-ecom-caller": "gateway", "x-ecom-signature": "A".repeat(43) };

    const anonymous = await post(gatewayUrl, "{ me { id } }", spoof);
    expect(anonymous.body).toEqual({ data: { me: null } });

    const other = await client.request(RegisterDocument, {
      input: { email: `other-${randomUUID()}@example.com`, password: "password123", name: "Other" },
    });
    const signedIn = await post(gatewayUrl, "{ me { id } }", { ...spoof, authorization: `Bearer ${other.register.token}` });
    expect(signedIn.body).toEqual({ data: { me: { id: other.register.user.id } } });
  });

  it("returns SUBGRAPH_UNAVAILABLE for a subgraph that is down while the users part resolves", async () => {
    const { register } = await createClient({ url: gatewayUrl }).request(RegisterDocument, {
      input: { email: `partial-${randomUUID()}@example.com`, password: "password123", name: "Partial" },
    });
    const { status, body } = await post(
      gatewayUrl,
      "query ($id: ID!) { me { id name } product(id: $id) { name } }",
      { authorization: `Bearer ${register.token}` },
      { id: randomUUID() },
    );
    expect(status).toBe(200);
    expect(body.data).toEqual({ me: { id: register.user.id, name: "Partial" }, product: null });
    expect(body.errors).toEqual([
      {
        message: expect.stringContaining("products service is unavailable"),
        extensions: { code: "SUBGRAPH_UNAVAILABLE", serviceName: "products", reason: "ECONNREFUSED", breakerState: "CLOSED" },
      },
    ]);
  });

  it("serves /health/ready on both processes: the subgraph ready, the gateway ready with the down subgraph reported", async () => {
    const subgraphReady = await fetch(`${usersOrigin}/health/ready`);
    expect(subgraphReady.status).toBe(200);

    type Report = {
      status: string;
      checks: Record<string, { status: string }>;
      dependencies: Record<string, { status: string; error?: string }>;
    };
    const readiness = async () => {
      const res = await fetch(`${gatewayOrigin}/health/ready`);
      return { status: res.status, report: (await res.json()) as Report };
    };
    // The subgraphs are checked in the background: wait for the first run to have reported both.
    await expect.poll(async () => (await readiness()).report.dependencies["subgraph:products"]?.status, { timeout: 20_000 }).toBe("fail");
    const { status, report } = await readiness();
    expect(status).toBe(200);
    expect(report.checks["supergraph"]?.status).toBe("ok");
    expect(report.dependencies["subgraph:users"]?.status).toBe("ok");
    expect(report.dependencies["subgraph:products"]).toMatchObject({ status: "fail", error: expect.stringContaining("ECONNREFUSED") });
    expect((await fetch(`${gatewayOrigin}/metrics`)).status).toBe(200);
  });

  it("carries the client's correlation id to the subgraph's logs and echoes it", async () => {
    const correlationId = `e2e-${randomUUID()}`;
    const { headers, body } = await post(gatewayUrl, "query CorrelatedMe { me { id } }", { "x-correlation-id": correlationId });
    expect(body.data).toEqual({ me: null });
    expect(headers.get("x-correlation-id")).toBe(correlationId);
    // The subgraph logs each operation with the correlation id it received from the gateway.
    await expect.poll(() => users.output(), { timeout: 5000 }).toContain(`"correlationId":"${correlationId}"`);
    const line = users
      .output()
      .split("\n")
      .find((l) => l.includes(correlationId));
    expect(JSON.parse(line!)).toMatchObject({ service: "users", correlationId });
  });

  it("stops both processes cleanly on SIGTERM", async () => {
    expect(await terminate(gateway)).toBe(0);
    expect(gateway.output()).toContain('"msg":"stopped"');
    await expect(fetch(`${gatewayOrigin}/health/live`)).rejects.toThrow();
    expect(await terminate(users)).toBe(0);
    expect(users.output()).toContain('"msg":"stopped"');
    await expect(fetch(`${usersOrigin}/health/live`)).rejects.toThrow();
  });
});
