import http from "node:http";
import { parse } from "graphql";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  bodyDigest,
  createRequestSigner,
  generateMasterKey,
  identityToHeaders,
  memoryNonceStore,
  pairKeyringFromMaster,
  serviceKeyring,
  SIGNATURE_HEADERS,
  type Identity,
  type Keyring,
} from "@ecom/auth";
import { CORRELATION_ID_HEADER, REQUEST_ID_HEADER, createLogger, createMetrics, type ReadinessCheck } from "@ecom/observability";
import { createSubgraphServer, type SubgraphContext, type SubgraphServer, type SubgraphServerOptions } from "@ecom/service";

const MASTER: Keyring = [generateMasterKey("svc")];
let bumps = 0;
const DB_ERROR = 'relation "users" does not exist (SELECT * FROM users WHERE password_hash = $1)';

const typeDefs = parse(/* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])

  type Query {
    me: Me
    loaderId: Int!
    boom: String
    slow(ms: Int!): String!
    requestIds: RequestIds!
  }

  type Mutation {
    bump: Int!
  }

  type Me {
    userId: ID!
    role: String!
  }

  type RequestIds {
    requestId: String!
    correlationId: String!
  }

  type Thing @key(fields: "id") {
    id: ID!
    name: String!
  }
`);

interface Loaders {
  id: number;
  identity: Identity | null;
}
type Ctx = SubgraphContext<Loaders>;

/** Resolvers of the tiny schema; `slowStarted` tells a test that a slow request is in flight. */
function makeResolvers(events: { slowStarted: () => void }) {
  return {
    Query: {
      me: (_: unknown, __: unknown, ctx: Ctx) => ctx.identity,
      loaderId: (_: unknown, __: unknown, ctx: Ctx) => ctx.loaders.id,
      boom: () => {
        throw new Error(DB_ERROR);
      },
      slow: async (_: unknown, args: { ms: number }) => {
        events.slowStarted();
        await new Promise((r) => setTimeout(r, args.ms));
        return "done";
      },
      requestIds: async (_: unknown, __: unknown, ctx: Ctx) => {
        await new Promise((r) => setTimeout(r, 5));
        ctx.logger.info({ tag: "in-resolver" }, "resolving requestIds");
        return { requestId: ctx.requestId, correlationId: ctx.correlationId };
      },
    },
    Mutation: { bump: () => ++bumps },
    Thing: {
      __resolveReference: (ref: { id: string }) => ({ id: ref.id, name: `thing ${ref.id}` }),
    },
  };
}

/** Headers of a request to the "test" subgraph as the gateway signs it (`identity` in the identity headers). */
function signedAs(body: string, identity: Identity | null = null, options: { at?: number; keys?: Keyring; caller?: string } = {}) {
  const caller = options.caller ?? "gateway";
  const sign = createRequestSigner({
    caller,
    target: "test",
    keys: options.keys ?? pairKeyringFromMaster(MASTER, caller, "test"),
    ...(options.at === undefined ? {} : { now: () => options.at! }),
  });
  const headers = identityToHeaders(identity);
  return { ...headers, ...sign({ method: "POST", path: "/graphql", body, headers }) };
}

interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: () => { data?: Record<string, unknown> | null; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
}

/** One request on a new connection (no keep-alive), so connection-level behaviour is observable. */
function request(
  port: number,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, path, method: init.method ?? "GET", headers: init.headers, agent: false },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) }));
      },
    );
    req.on("error", reject);
    req.end(init.body);
  });
}

/** A signed POST (anonymous unless `identity`), as the gateway sends it; `headers` are added after signing. */
const graphql = (port: number, query: string, headers: Record<string, string> = {}, identity: Identity | null = null) => {
  const body = JSON.stringify({ query });
  return request(port, "/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", ...signedAs(body, identity), ...headers },
    body,
  });
};

/** A POST with exactly these headers (no signature unless they hold one). */
const rawGraphql = (port: number, body: string, headers: Record<string, string>) =>
  request(port, "/graphql", { method: "POST", headers: { "content-type": "application/json", ...headers }, body });

interface Harness {
  server: SubgraphServer;
  port: number;
  lines: Array<Record<string, unknown>>;
  loaderIdentities: Array<Identity | null>;
  slowStarted: Promise<void>;
  onStop: ReturnType<typeof vi.fn>;
}

async function start(overrides: Partial<SubgraphServerOptions<Loaders>> = {}, checks: ReadinessCheck[] = []): Promise<Harness> {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    service: "test-subgraph",
    level: "debug",
    destination: { write: (l: string) => void lines.push(JSON.parse(l)) },
  });
  let nextLoaderId = 0;
  const loaderIdentities: Array<Identity | null> = [];
  let markSlow!: () => void;
  const slowStarted = new Promise<void>((r) => (markSlow = r));
  const onStop = vi.fn(async () => {});
  const server = await createSubgraphServer<Loaders>({
    name: "test",
    typeDefs,
    resolvers: makeResolvers({ slowStarted: markSlow }),
    logger,
    metrics: createMetrics({ service: "test-subgraph", defaultMetrics: false }),
    checks,
    signing: { keys: serviceKeyring(MASTER, "test"), nonces: memoryNonceStore() },
    createLoaders: (identity) => {
      loaderIdentities.push(identity);
      return { id: ++nextLoaderId, identity };
    },
    onStop,
    ...overrides,
  });
  const { port, url } = await server.listen(0, "127.0.0.1");
  expect(url).toBe(`http://127.0.0.1:${port}/graphql`);
  return { server, port, lines, loaderIdentities, slowStarted, onStop };
}

describe("createSubgraphServer", () => {
  let h: Harness;
  let redisUp = true;
  beforeAll(async () => {
    h = await start({}, [
      { name: "postgres", check: async () => {} },
      { name: "redis", check: async () => (redisUp ? undefined : Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:6379"))) },
    ]);
  });
  afterAll(async () => {
    await h.server.stop();
  });

  it("serves the federation SDL at _service { sdl }", async () => {
    const res = await graphql(h.port, "{ _service { sdl } }");
    expect(res.status).toBe(200);
    const sdl = (res.json().data?.["_service"] as { sdl: string }).sdl;
    expect(sdl).toMatch(/type Thing\s+@key\(fields: "id"\)/);
    expect(sdl).toContain("slow(ms: Int!): String!");
  });

  it("resolves entity references through _entities", async () => {
    const res = await graphql(h.port, '{ _entities(representations: [{ __typename: "Thing", id: "7" }]) { ... on Thing { id name } } }');
    expect(res.json()).toEqual({ data: { _entities: [{ id: "7", name: "thing 7" }] } });
  });

  it("passes the identity of a signed gateway request to resolvers and loaders", async () => {
    const identity: Identity = { userId: "u-42", role: "ADMIN" };
    const res = await graphql(h.port, "{ me { userId role } }", {}, identity);
    expect(res.json()).toEqual({ data: { me: { userId: "u-42", role: "ADMIN" } } });
    expect(h.loaderIdentities.at(-1)).toEqual(identity);
  });

  it("treats a request without identity headers as anonymous", async () => {
    const res = await graphql(h.port, "{ me { userId } }");
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ data: { me: null } });
    expect(h.loaderIdentities.at(-1)).toBeNull();
  });

  const query = JSON.stringify({ query: "{ me { userId role } }" });
  const admin: Identity = { userId: "u-1", role: "ADMIN" };
  it.each<[string, () => Record<string, string>, string, string?]>([
    ["unsigned and anonymous", () => ({}), "unsigned"],
    ["unsigned, with identity headers", () => identityToHeaders(admin), "unsigned"],
    ["signed anonymous, identity headers added afterwards", () => ({ ...signedAs(query), ...identityToHeaders(admin) }), "bad-signature"],
    [
      "signed for a customer, role changed to ADMIN",
      () => ({ ...signedAs(query, { userId: "u-1", role: "CUSTOMER" }), "x-user-role": "ADMIN" }),
      "bad-signature",
    ],
    ["signed over another body", () => signedAs(JSON.stringify({ query: "{ loaderId }" })), "bad-signature"],
    ["signed 31 s ago", () => signedAs(query, null, { at: Date.now() - 31_000 }), "expired"],
    [
      "signed with another master's key",
      () => signedAs(query, null, { keys: pairKeyringFromMaster([generateMasterKey("svc")], "gateway", "test") }),
      "bad-signature",
    ],
    [
      "signed with the key for another subgraph",
      () => signedAs(query, null, { keys: pairKeyringFromMaster(MASTER, "gateway", "other") }),
      "bad-signature",
    ],
    [
      "signed with a key id it does not hold",
      () => signedAs(query, null, { keys: pairKeyringFromMaster([generateMasterKey("old")], "gateway", "test") }),
      "unknown-key",
    ],
    ["signed by another service acting for a user", () => signedAs(query, admin, { caller: "orders" }), "identity-not-allowed"],
  ])("answers HTTP 401 UNAUTHENTICATED to a request %s, without running resolvers", async (_label, headers, reason) => {
    const before = h.loaderIdentities.length;
    const res = await rawGraphql(h.port, query, headers());
    expect(res.status).toBe(401);
    const body = res.json();
    expect(body.data ?? null).toBeNull();
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]!.extensions).toEqual({ code: "UNAUTHENTICATED", reason });
    expect(res.body).not.toContain("u-1");
    expect(h.loaderIdentities.length).toBe(before);
  });

  it("refuses a replayed mutation inside the window, and serves a replayed query (replay check: mutations)", async () => {
    const mutation = JSON.stringify({ query: "mutation { bump }" });
    const headers = signedAs(mutation);
    const first = await rawGraphql(h.port, mutation, headers);
    expect(first.json()).toEqual({ data: { bump: bumps } });
    const done = bumps;
    const replay = await rawGraphql(h.port, mutation, headers);
    expect(replay.status).toBe(401);
    expect(replay.json().errors?.[0]?.extensions).toMatchObject({ code: "UNAUTHENTICATED", reason: "replayed" });
    expect(bumps).toBe(done);
    // A fresh signature of the same mutation is a new request.
    expect((await rawGraphql(h.port, mutation, signedAs(mutation))).json()).toEqual({ data: { bump: done + 1 } });
    const read = JSON.stringify({ query: "{ loaderId }" });
    const readHeaders = signedAs(read);
    for (let i = 0; i < 2; i++) expect((await rawGraphql(h.port, read, readHeaders)).status).toBe(200);
  });

  it("counts refusals by reason on /metrics, and serves /health and /metrics unsigned", async () => {
    await rawGraphql(h.port, query, {});
    const metrics = await request(h.port, "/metrics");
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/^subgraph_signature_rejections_total\{[^}]*reason="unsigned"[^}]*\} [1-9]\d*$/m);
    expect((await request(h.port, "/health/live")).status).toBe(200);
  });

  it("checks the digest of the body bytes as received", async () => {
    // The same JSON with other whitespace is another body: its signature does not carry over.
    const spaced = JSON.stringify({ query: "{ me { userId role } }" }, null, 2);
    expect(bodyDigest(spaced)).not.toBe(bodyDigest(query));
    const res = await rawGraphql(h.port, spaced, signedAs(query));
    expect(res.status).toBe(401);
    expect((await rawGraphql(h.port, spaced, signedAs(spaced))).status).toBe(200);
    expect(signedAs(spaced)[SIGNATURE_HEADERS.caller]).toBe("gateway");
  });

  it("builds fresh loaders for every request, shared by the fields of one request", async () => {
    const a = (await graphql(h.port, "{ x: loaderId y: loaderId }")).json().data as { x: number; y: number };
    const b = (await graphql(h.port, "{ x: loaderId }")).json().data as { x: number };
    expect(a.x).toBe(a.y);
    expect(b.x).not.toBe(a.x);
  });

  it("masks an unexpected resolver error as INTERNAL_SERVER_ERROR without its text or stack, and logs it", async () => {
    const res = await graphql(h.port, "{ boom }");
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({
      data: { boom: null },
      errors: [
        {
          message: "Internal server error.",
          locations: [{ line: 1, column: 3 }],
          path: ["boom"],
          extensions: { code: "INTERNAL_SERVER_ERROR" },
        },
      ],
    });
    expect(res.body).not.toMatch(/relation|password_hash|stacktrace/);
    const logged = h.lines.find((l) => l["msg"] === "unexpected error in resolver");
    expect(logged).toBeDefined();
    expect(JSON.stringify(logged)).toContain('relation \\"users\\" does not exist');
  });

  it("keeps the same request and correlation id in the context, the response headers and resolver log lines", async () => {
    const res = await graphql(h.port, "{ requestIds { requestId correlationId } }", { [CORRELATION_ID_HEADER]: "corr-svc-1" });
    const ids = res.json().data?.["requestIds"] as { requestId: string; correlationId: string };
    expect(ids.correlationId).toBe("corr-svc-1");
    expect(ids.requestId).toBe(res.headers[REQUEST_ID_HEADER]);
    expect(res.headers[CORRELATION_ID_HEADER]).toBe("corr-svc-1");
    const line = h.lines.find((l) => l["tag"] === "in-resolver" && l["requestId"] === ids.requestId);
    expect(line).toMatchObject({ service: "test-subgraph", subgraph: "test", correlationId: "corr-svc-1" });
  });

  it("records GraphQL operations and errors in /metrics", async () => {
    await graphql(h.port, "query NamedForMetrics { loaderId }");
    await graphql(h.port, "{ boom }");
    const text = (await request(h.port, "/metrics")).body;
    expect(text).toMatch(/graphql_operation_duration_seconds_count\{[^}]*operation_name="NamedForMetrics"[^}]*\} 1/);
    expect(text).toMatch(/graphql_errors_total\{[^}]*code="INTERNAL_SERVER_ERROR"[^}]*\} [1-9]/);
    expect(text).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/graphql"/);
  });

  it("answers /health/live 200 and /health/ready 503 with the failing check while a dependency is down", async () => {
    expect((await request(h.port, "/health/live")).status).toBe(200);
    expect((await request(h.port, "/health/ready")).status).toBe(200);
    redisUp = false;
    try {
      const res = await request(h.port, "/health/ready");
      expect(res.status).toBe(503);
      expect(res.json()).toMatchObject({
        status: "unavailable",
        checks: { postgres: { status: "ok" }, redis: { status: "fail", error: "connect ECONNREFUSED 127.0.0.1:6379" } },
      });
    } finally {
      redisUp = true;
    }
    expect((await request(h.port, "/health/ready")).status).toBe(200);
  });

  it("refuses a cross-site simple GET: unsigned (401), and signed but without a preflight header (Apollo CSRF prevention, 400)", async () => {
    const path = "/graphql?query=%7BloaderId%7D";
    expect((await request(h.port, path)).status).toBe(401);
    const sign = createRequestSigner({ caller: "gateway", target: "test", keys: pairKeyringFromMaster(MASTER, "gateway", "test") });
    const res = await request(h.port, path, { headers: sign({ method: "GET", path, body: undefined, headers: {} }) });
    expect(res.status).toBe(400);
  });
});

describe("createSubgraphServer in development", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await start({ development: true });
  });
  afterAll(async () => {
    await h.server.stop();
  });

  it("shows the real message and stack trace of unexpected errors", async () => {
    const body = (await graphql(h.port, "{ boom }")).json();
    expect(body.errors![0]!.message).toBe(DB_ERROR);
    expect(body.errors![0]!.extensions?.["code"]).toBe("INTERNAL_SERVER_ERROR");
    expect((body.errors![0]!.extensions?.["stacktrace"] as string[]).join("\n")).toMatch(/subgraph-server\.test\.ts/);
  });
});

describe("SubgraphServer.stop", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.server.stop();
    h = undefined;
  });

  it("lets an in-flight request finish, refuses new connections, then runs onStop", async () => {
    h = await start();
    const { port } = h;
    const slow = graphql(port, "{ slow(ms: 600) }");
    await h.slowStarted;
    const stopped = h.server.stop();
    await new Promise((r) => setTimeout(r, 100));
    // Draining: the listening socket is closed while the slow request is still running.
    await expect(request(port, "/health/live")).rejects.toThrow(/ECONNREFUSED/);
    expect(h.onStop).not.toHaveBeenCalled();
    const res = await slow;
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ data: { slow: "done" } });
    await stopped;
    expect(h.onStop).toHaveBeenCalledTimes(1);
    await expect(request(port, "/graphql")).rejects.toThrow(/ECONNREFUSED/);
    // Idempotent.
    await h.server.stop();
    expect(h.onStop).toHaveBeenCalledTimes(1);
  });

  it("answers /health/ready 503 during the shutdown delay while still serving traffic", async () => {
    h = await start({ shutdownDelayMs: 400 }, [{ name: "postgres", check: async () => {} }]);
    const { port } = h;
    expect((await request(port, "/health/ready")).status).toBe(200);
    const stopped = h.server.stop();
    const ready = await request(port, "/health/ready");
    expect(ready.status).toBe(503);
    expect(ready.json()).toMatchObject({ status: "unavailable", reason: "shutting down" });
    // Requests that still arrive (the load balancer has not noticed yet) are served.
    expect((await graphql(port, "{ loaderId }")).status).toBe(200);
    expect((await request(port, "/health/live")).status).toBe(200);
    await stopped;
    await expect(request(port, "/health/ready")).rejects.toThrow(/ECONNREFUSED/);
  });
});
