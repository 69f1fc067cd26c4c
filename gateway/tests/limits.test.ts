import { createHash } from "node:crypto";
import http from "node:http";
import type { IncomingHttpHeaders } from "node:http";
import { devMasterKeyring, memoryNonceStore, serviceKeyring } from "@ecom/auth";
import { createMetrics } from "@ecom/observability";
import { createSubgraphServer, type SubgraphServer } from "@ecom/service";
import { parse } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, FED, composeFixture, silentLogger, startGateway } from "./helpers.ts";

/** A shop with the cycle of the incident: a user's orders have a buyer, who has orders... */
const SHOP_SDL = `${FED}
type User @key(fields: "id") { id: ID! name: String! orders(first: Int = 5): OrderConnection! }
type OrderConnection { edges: [OrderEdge!]! }
type OrderEdge { node: Order! }
type Order @key(fields: "id") { id: ID! buyer: User! }
input Filter { name: String tags: [String!] deep: Filter }
enum Channel { EMAIL SMS }
type Query { me: User  find(name: String, filter: Filter): [User!]!  channel(c: Channel): String }
type Mutation { rename(name: String!): User! }`;

const user = { id: "u1", name: "Ann" };
const resolvers = {
  Query: {
    me: () => user,
    find: (_: unknown, args: { name?: string }) => [{ ...user, name: args.name ?? user.name }],
    channel: () => "ok",
  },
  Mutation: { rename: (_: unknown, { name }: { name: string }) => ({ ...user, name }) },
  User: {
    __resolveReference: () => user,
    orders: (_: unknown, { first }: { first: number }) => ({
      edges: Array.from({ length: first }, (_x, i) => ({ node: { id: `o${i}`, buyer: user } })),
    }),
  },
};

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: { data?: unknown; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
}

async function send(url: string, init: RequestInit & { json?: unknown } = {}): Promise<Answer> {
  const { json, ...rest } = init;
  const res = await fetch(url, {
    method: "POST",
    ...rest,
    headers: { "content-type": "application/json", ...(rest.headers as Record<string, string> | undefined) },
    ...(json === undefined ? {} : { body: typeof json === "string" ? json : JSON.stringify(json) }),
  });
  const text = await res.text();
  let body: Answer["body"] = {};
  try {
    body = JSON.parse(text) as Answer["body"];
  } catch {
    // not JSON: the assertions on `text` say what it was
  }
  return { status: res.status, headers: res.headers, text, body };
}

const codeOf = (a: Answer) => a.body.errors?.[0]?.extensions?.["code"];
const nested = (levels: number) => `{ me { ${"orders { edges { node { buyer { ".repeat(levels)}id${" } } } }".repeat(levels)} } }`;

describe("the gateway's query limits, before any subgraph call", () => {
  let shop: SubgraphServer;
  const received: IncomingHttpHeaders[] = [];
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  let url: string;

  beforeAll(async () => {
    shop = await createSubgraphServer({
      name: "shop",
      typeDefs: parse(SHOP_SDL),
      resolvers,
      logger: silentLogger(),
      metrics: createMetrics({ service: "shop", defaultMetrics: false }),
      checks: [],
      signing: { keys: serviceKeyring(devMasterKeyring(), "shop"), nonces: memoryNonceStore() },
      createLoaders: () => ({}),
      routes: (app) =>
        app.use("/graphql", (req, _res, next) => {
          received.push(req.headers);
          next();
        }),
    });
    const { url: shopUrl } = await shop.listen(0, "127.0.0.1");
    gateway = await startGateway(
      composeFixture({ shop: SHOP_SDL }),
      { shop: shopUrl },
      {
        limits: { maxDepth: 12, maxAliases: 5, maxTokens: 400, maxNesting: 24, maxCost: 2000, maxOperationsPerBatch: 2 },
        hygiene: { corsOrigins: ["https://shop.example.com"] },
        maxHeaderBytes: 8192,
        bodyLimit: "64kb",
      },
    );
    url = gateway.url;
  });
  afterAll(async () => {
    await gateway?.stop();
    await shop?.stop();
  });

  /** Sends `request` and checks that the subgraph received nothing for it. */
  async function refusedBeforeSubgraphs(request: () => Promise<Answer>): Promise<Answer> {
    const before = received.length;
    const answer = await request();
    expect(received.length).toBe(before);
    return answer;
  }

  const refusals = async (rule: string) => {
    const text = await (await fetch(`${gateway.origin}/metrics`)).text();
    const m = new RegExp(`^gateway_query_limit_refusals_total\\{rule="${rule}"[^}]*\\} (\\d+)$`, "m").exec(text);
    return Number(m?.[1] ?? NaN);
  };

  it("answers a query within the limits", async () => {
    const answer = await send(url, { json: { query: nested(2) } });
    expect(answer.status).toBe(200);
    expect(answer.body.errors).toBeUndefined();
    expect(received.length).toBeGreaterThan(0);
  });

  it.each([
    ["depth", () => ({ query: nested(3) }), 12],
    ["aliases", () => ({ query: `{ ${Array.from({ length: 6 }, (_, i) => `a${i}: me { id }`).join(" ")} }` }), 5],
    [
      "cost",
      () => ({ query: "{ me { orders(first: 100) { edges { node { buyer { orders(first: 100) { edges { node { id } } } } } } } } }" }),
      2000,
    ],
    ["tokens", () => ({ query: `{ me { ${"id ".repeat(500)} } }` }), 400],
    ["nesting", () => ({ query: `{ find(filter: ${"{ deep: ".repeat(30)}{ name: "x" }${" }".repeat(30)}) { id } }` }), 24],
    ["operationsPerBatch", () => [{ query: "{ me { id } }" }, { query: "{ me { id } }" }, { query: "{ me { id } }" }], 2],
  ])("refuses a %s bomb with QUERY_TOO_COMPLEX 400, the limit and the measured value, and counts it", async (rule, body, limit) => {
    const counted = await refusals(rule);
    const answer = await refusedBeforeSubgraphs(() => send(url, { json: body() }));
    expect(answer.status).toBe(400);
    const error = answer.body.errors?.[0];
    expect(error?.extensions).toMatchObject({ code: ErrorCode.QUERY_TOO_COMPLEX, rule, limit });
    expect(error?.extensions?.["measured"]).toBeGreaterThan(limit);
    expect(await refusals(rule)).toBe(counted + 1);
  });

  it("refuses a 10,000-level literal without a stack overflow", async () => {
    const deep = `{ find(name: ${"[".repeat(10_000)}"x"${"]".repeat(10_000)}) { id } }`;
    const answer = await refusedBeforeSubgraphs(() => send(url, { json: { query: deep } }));
    expect(answer.status).toBe(400);
    expect(codeOf(answer)).toBe(ErrorCode.QUERY_TOO_COMPLEX);
    expect(answer.text).not.toMatch(/call stack/i);
  });

  it.each([
    ["an unknown operationName", { query: "query A { me { id } }", operationName: "B" }, ErrorCode.OPERATION_RESOLUTION_FAILURE],
    [
      "several operations without operationName",
      { query: "query A { me { id } } query B { me { name } }" },
      ErrorCode.OPERATION_RESOLUTION_FAILURE,
    ],
    ["a subscription", { query: "subscription { me { id } }" }, ErrorCode.GRAPHQL_VALIDATION_FAILED],
    ["an operationName with a bidi override", { query: "query A { me { id } }", operationName: "A\u202Eevil" }, ErrorCode.BAD_REQUEST],
    [
      "an operationName with <script>",
      { query: "query A { me { id } }", operationName: "<script>alert(1)</script>" },
      ErrorCode.BAD_REQUEST,
    ],
    [
      "an APQ hash that does not match",
      { query: "{ me { id } }", extensions: { persistedQuery: { version: 1, sha256Hash: "0".repeat(64) } } },
      ErrorCode.BAD_REQUEST,
    ],
    [
      "an unsupported APQ version",
      { query: "{ me { id } }", extensions: { persistedQuery: { version: 2, sha256Hash: "0".repeat(64) } } },
      ErrorCode.BAD_REQUEST,
    ],
    [
      "a lone surrogate in a variable",
      { query: "query F($n: String) { find(name: $n) { id } }", variables: { n: "a\uD800b" } },
      ErrorCode.BAD_USER_INPUT,
    ],
    ["a NUL in a literal", { query: '{ find(name: "a\\u0000b") { id } }' }, ErrorCode.BAD_USER_INPUT],
    ["a syntax error", { query: "{ me { id }" }, ErrorCode.GRAPHQL_PARSE_FAILED],
    ["an unknown field", { query: "{ me { idd } }" }, ErrorCode.GRAPHQL_VALIDATION_FAILED],
  ])("answers %s with a coded 400, calling no subgraph", async (_what, body, code) => {
    const answer = await refusedBeforeSubgraphs(() => send(url, { json: body }));
    expect(answer.status).toBe(400);
    expect(codeOf(answer)).toBe(code);
    expect(answer.text).not.toMatch(/<script>|\u202E|stacktrace|\.ts:\d+/);
  });

  it("answers a registered APQ hash with its query, and an unknown one with PERSISTED_QUERY_NOT_FOUND", async () => {
    const query = "{ me { name } }";
    const sha256Hash = createHash("sha256").update(query).digest("hex");
    const unknown = await send(url, { json: { extensions: { persistedQuery: { version: 1, sha256Hash } } } });
    expect(codeOf(unknown)).toBe(ErrorCode.PERSISTED_QUERY_NOT_FOUND);
    expect((await send(url, { json: { query, extensions: { persistedQuery: { version: 1, sha256Hash } } } })).body.data).toEqual({
      me: { name: "Ann" },
    });
    expect((await send(url, { json: { extensions: { persistedQuery: { version: 1, sha256Hash } } } })).body.data).toEqual({
      me: { name: "Ann" },
    });
  });

  it("gives no suggestions and no introspection outside development", async () => {
    const typo = await send(url, { json: { query: "{ me { nme } }" } });
    expect(typo.text).not.toMatch(/Did you mean/);
    const enumTypo = await send(url, { json: { query: "query Q($c: Channel) { channel(c: $c) }", variables: { c: "EMAL" } } });
    expect(codeOf(enumTypo)).toBe(ErrorCode.BAD_USER_INPUT);
    expect(enumTypo.text).not.toMatch(/Did you mean|EMAIL/);
    const introspection = await send(url, { json: { query: "{ __schema { types { name } } }" } });
    expect(introspection.status).toBe(400);
    expect(codeOf(introspection)).toBe(ErrorCode.GRAPHQL_VALIDATION_FAILED);
  });

  it("answers bodies that are not JSON or too large with a coded 4xx in JSON, without a stack", async () => {
    const broken = await send(url, { json: '{"query": "{ me { id } }"' });
    expect(broken.status).toBe(400);
    expect(codeOf(broken)).toBe(ErrorCode.BAD_REQUEST);
    const large = await send(url, { json: { query: `{ me { id } } # ${"x".repeat(70_000)}` } });
    expect(large.status).toBe(413);
    expect(codeOf(large)).toBe(ErrorCode.BAD_REQUEST);
    for (const answer of [broken, large]) expect(answer.text).not.toMatch(/node_modules|at .*\(|<html|<pre/i);
    const nowhere = await send(`${gateway.origin}/nowhere`, { json: {} });
    expect(nowhere.status).toBe(404);
    expect(codeOf(nowhere)).toBe(ErrorCode.NOT_FOUND);
  });

  it("refuses request heads over the header limit with 431", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        url,
        { method: "POST", headers: { "content-type": "application/json", "x-big": "y".repeat(10_000) } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end("{}");
    });
    expect(status).toBe(431);
  });

  it("prevents CSRF: simple requests a browser sends without a preflight are refused", async () => {
    const form = await refusedBeforeSubgraphs(() =>
      send(url, { headers: { "content-type": "text/plain" }, json: JSON.stringify({ query: 'mutation { rename(name: "x") { id } }' }) }),
    );
    expect(form.status).toBe(400);
    const get = await fetch(`${url}?query=${encodeURIComponent("{ me { id } }")}`);
    expect(get.status).toBe(400);
    // With a preflight-forcing header a GET query works.
    const allowed = await fetch(`${url}?query=${encodeURIComponent("{ me { id } }")}`, { headers: { "apollo-require-preflight": "1" } });
    expect(allowed.status).toBe(200);
  });

  it("answers CORS for allowed origins only, never with a wildcard or a reflected unknown origin", async () => {
    const preflight = (origin: string) =>
      fetch(url, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
      });
    const ok = await preflight("https://shop.example.com");
    expect(ok.status).toBeLessThan(300);
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://shop.example.com");
    expect(ok.headers.get("access-control-allow-credentials")).toBeNull();
    const evil = await preflight("https://evil.example.com");
    expect(evil.headers.get("access-control-allow-origin")).toBeNull();
    const post = await send(url, { headers: { origin: "https://evil.example.com" }, json: { query: "{ me { id } }" } });
    expect(post.headers.get("access-control-allow-origin")).toBeNull();
    expect(post.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("keeps the operation_name label bounded: made-up names past the bound fold into __other__", { timeout: 120_000 }, async () => {
    // __typename only: the gateway answers it without a subgraph call.
    for (let i = 0; i < 230; i += 23) {
      await Promise.all(
        Array.from({ length: 23 }, (_, j) =>
          send(url, { json: { query: `query Op${i + j} { __typename }`, operationName: `Op${i + j}` } }),
        ),
      );
    }
    const text = await (await fetch(`${gateway.origin}/metrics`)).text();
    const names = new Set(
      [...text.matchAll(/^graphql_operation_duration_seconds_count\{[^}]*operation_name="([^"]+)"/gm)].map((m) => m[1]),
    );
    expect(names.size).toBeLessThanOrEqual(203); // 200 kept, __other__, anonymous, __unresolved__
    expect(names.has("__other__")).toBe(true);
  });

  it("applies new limits live, and refuses invalid ones keeping the old", async () => {
    const query = { query: nested(1) };
    expect((await send(url, { json: query })).status).toBe(200);
    const before = gateway.limits.limits;
    try {
      gateway.limits.update({ ...before, maxDepth: 3 });
      const answer = await refusedBeforeSubgraphs(() => send(url, { json: query }));
      expect(answer.body.errors?.[0]?.extensions).toMatchObject({ code: ErrorCode.QUERY_TOO_COMPLEX, rule: "depth", limit: 3 });
      expect(() => gateway.limits.update({ ...before, maxDepth: 0 })).toThrow();
      expect(gateway.limits.limits.maxDepth).toBe(3);
    } finally {
      gateway.limits.update(before);
    }
    expect((await send(url, { json: query })).status).toBe(200);
  });
});

describe("the gateway in development", () => {
  it("allows introspection and the Sandbox origins, and measures no introspection against the limits", async () => {
    const sdl = composeFixture({ shop: SHOP_SDL });
    const gateway = await startGateway(sdl, { shop: "http://127.0.0.1:9/graphql" }, { env: { NODE_ENV: "development" } });
    try {
      const introspection = await send(gateway.url, {
        json: { query: "{ __schema { types { name fields { name type { name ofType { name ofType { name } } } } } } }" },
      });
      expect(introspection.status).toBe(200);
      expect(introspection.body.errors).toBeUndefined();
      const preflight = await fetch(gateway.url, {
        method: "OPTIONS",
        headers: { origin: "https://sandbox.embed.apollographql.com", "access-control-request-method": "POST" },
      });
      expect(preflight.headers.get("access-control-allow-origin")).toBe("https://sandbox.embed.apollographql.com");
    } finally {
      await gateway.stop();
    }
  });
});
