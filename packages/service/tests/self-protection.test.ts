import { createRequestSigner, generateMasterKey, memoryNonceStore, pairKeyringFromMaster, serviceKeyring } from "@ecom/auth";
import { parse } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger, createMetrics } from "@ecom/observability";
import { ErrorCode } from "@ecom/errors";
import { SUBGRAPH_LIMIT_DEFAULTS } from "@ecom/limits";
import { createSubgraphServer, selfProtectionFromEnv, type LoaderOptions, type SubgraphServer } from "@ecom/service";

const typeDefs = parse(/* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
  type User @key(fields: "id") {
    id: ID!
    name: String!
    orders(first: Int = 20): [Order!]!
  }
  type Order @key(fields: "id") {
    id: ID!
    buyer: User!
    note: String!
  }
  type Query {
    me: User
    many(count: Int!): [Order!]!
    batchSize: Int!
  }
`);

const user = { id: "u1", name: "Ann" };
let resolved = 0;
const resolvers = {
  Query: {
    me: () => {
      resolved += 1;
      return user;
    },
    many: (_: unknown, { count }: { count: number }) => Array.from({ length: count }, (_x, i) => ({ id: `o${i}`, buyer: user })),
    batchSize: (_: unknown, __: unknown, ctx: { loaders: LoaderOptions }) => ctx.loaders.maxBatchSize,
  },
  User: { orders: (_: unknown, { first }: { first: number }) => Array.from({ length: first }, (_x, i) => ({ id: `o${i}`, buyer: user })) },
  Order: { note: () => "x".repeat(1000) },
};

const MASTER = [generateMasterKey("shop")];

describe("a subgraph protects itself", () => {
  let server: SubgraphServer;
  let url: string;

  beforeAll(async () => {
    server = await createSubgraphServer({
      name: "shop",
      typeDefs,
      resolvers,
      logger: createLogger({ service: "shop", level: "silent" }),
      metrics: createMetrics({ service: "shop", defaultMetrics: false }),
      checks: [],
      signing: { keys: serviceKeyring(MASTER, "shop"), nonces: memoryNonceStore() },
      createLoaders: (_identity, options) => options,
      protection: {
        ...selfProtectionFromEnv({ QUERY_MAX_DEPTH: 10, DATALOADER_MAX_BATCH: 7, RESULT_MAX_VALUES: 5000 }),
        maxResultBytes: 200_000,
        bodyLimit: "32kb",
      },
    });
    ({ url } = await server.listen(0, "127.0.0.1"));
  });
  afterAll(() => server?.stop());

  // Signed as the gateway signs: the subgraph refuses anything else before reading the body.
  const sign = createRequestSigner({ caller: "gateway", target: "shop", keys: pairKeyringFromMaster(MASTER, "gateway", "shop") });
  const post = async (body: unknown) => {
    const payload = typeof body === "string" ? body : JSON.stringify(body);
    const headers = { "content-type": "application/json" };
    const res = await fetch(url, {
      method: "POST",
      headers: { ...headers, ...sign({ method: "POST", path: "/graphql", body: payload, headers }) },
      body: payload,
    });
    const text = await res.text();
    return {
      status: res.status,
      text,
      body: JSON.parse(text) as { data?: unknown; errors?: Array<{ extensions?: Record<string, unknown> }> },
    };
  };
  const metric = async (rule: string) => {
    const text = await (await fetch(new URL("/metrics", url))).text();
    return Number(new RegExp(`^subgraph_query_limit_refusals_total\\{rule="${rule}"[^}]*\\} (\\d+)$`, "m").exec(text)?.[1]);
  };

  it("refuses a depth bomb sent straight to it, before any resolver runs", async () => {
    const before = resolved;
    const counted = await metric("depth");
    const query = `{ me { ${"orders(first: 1) { buyer { ".repeat(6)}id${" } }".repeat(6)} } }`;
    const answer = await post({ query });
    expect(answer.status).toBe(400);
    expect(answer.body.errors?.[0]?.extensions).toMatchObject({ code: ErrorCode.QUERY_TOO_COMPLEX, rule: "depth", limit: 10 });
    expect(resolved).toBe(before);
    expect(await metric("depth")).toBe(counted + 1);
  });

  it("refuses the incident's wide cycle by cost before executing it", async () => {
    const branch = (i: number) => `b${i}: orders(first: 100) { buyer { orders(first: 100) { buyer { orders(first: 100) { id } } } } }`;
    const answer = await post({ query: `{ me { ${Array.from({ length: 40 }, (_, i) => branch(i)).join(" ")} } }` });
    expect(answer.status).toBe(400);
    expect(answer.body.errors?.[0]?.extensions?.["code"]).toBe(ErrorCode.QUERY_TOO_COMPLEX);
  });

  it("stops a response past its value budget while executing: one error, no data", async () => {
    const answer = await post({ query: "{ many(count: 6000) { id } }" });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      errors: [
        {
          message: expect.any(String),
          extensions: { code: ErrorCode.QUERY_TOO_COMPLEX, rule: "resultSize", limit: 5000, measured: expect.any(Number) },
        },
      ],
    });
  });

  it("stops a response past its byte budget", async () => {
    const answer = await post({ query: "{ many(count: 300) { note } }" });
    expect(answer.status).toBe(400);
    expect(answer.body.errors?.[0]?.extensions).toMatchObject({ code: ErrorCode.QUERY_TOO_COMPLEX, rule: "responseBytes", limit: 200_000 });
  });

  it("gives the loaders DATALOADER_MAX_BATCH", async () => {
    expect((await post({ query: "{ batchSize }" })).body).toEqual({ data: { batchSize: 7 } });
  });

  it("answers a body over its limit, broken JSON, a subscription and introspection with coded 4xx", async () => {
    const large = await post({ query: `{ me { id } } #${"x".repeat(40_000)}` });
    expect(large.status).toBe(413);
    const broken = await post("{ nope");
    expect(broken.status).toBe(400);
    const subscription = await post({ query: "subscription { me { id } }" });
    const introspection = await post({ query: "{ __schema { types { name } } }" });
    expect([large, broken, subscription, introspection].map((a) => a.body.errors?.[0]?.extensions?.["code"])).toEqual([
      ErrorCode.BAD_REQUEST,
      ErrorCode.BAD_REQUEST,
      ErrorCode.GRAPHQL_VALIDATION_FAILED,
      ErrorCode.GRAPHQL_VALIDATION_FAILED,
    ]);
    for (const answer of [large, broken]) expect(answer.text).not.toMatch(/node_modules|<html|\.js:\d+/);
  });

  it("keeps its defaults looser than the gateway's but bounded", () => {
    expect(SUBGRAPH_LIMIT_DEFAULTS.maxDepth).toBeGreaterThan(0);
    expect(selfProtectionFromEnv({}).limits).toEqual(SUBGRAPH_LIMIT_DEFAULTS);
  });
});
