import { HeaderMap, type ApolloServerPlugin, type BaseContext } from "@apollo/server";
import { GATEWAY_LIMIT_DEFAULTS, operationCost } from "@ecom/limits";
import { createMetrics } from "@ecom/observability";
import { createMemoryStore, rateLimitRuleSchema, RateLimiter, type Decision } from "@ecom/ratelimit";
import { buildSchema, getOperationAST, parse } from "graphql";
import { Counter, Registry } from "prom-client";
import { parseList } from "structured-headers";
import { describe, expect, it } from "vitest";
import { createRateLimitPlugin, rateLimitHeaders, refusalOf, rootFieldsOf } from "../src/plugins/rate-limit.ts";

function fieldsOf(query: string, variables: Record<string, unknown> = {}) {
  const document = parse(query);
  return rootFieldsOf(document, getOperationAST(document)!, variables);
}

describe("the root fields of an operation", () => {
  it("count every aliased login, through root fragments, with its email from literals or variables", () => {
    const fields = fieldsOf(
      `mutation M($e: String!) {
        a: login(email: "A@x.com", password: "1") { token }
        b: login(email: $e, password: "2") { token }
        ...F
        ... on Mutation { c: login(email: "c@x.com", password: "3") { token } }
      }
      fragment F on Mutation { d: login(email: "d@x.com", password: "4") { token } register(input: { email: "new@x.com", password: "12345678", name: "N" }) { token } }`,
      { e: "b@x.com" },
    );
    expect(fields).toEqual([
      { name: "login", email: "A@x.com" },
      { name: "login", email: "b@x.com" },
      { name: "login", email: "d@x.com" },
      { name: "register", email: "new@x.com" },
      { name: "login", email: "c@x.com" },
    ]);
  });

  it("read register's email from an input variable, and leave out an email that is not a string", () => {
    expect(fieldsOf("mutation R($i: RegisterInput!) { register(input: $i) { token } }", { i: { email: "v@x.com" } })).toEqual([
      { name: "register", email: "v@x.com" },
    ]);
    expect(fieldsOf('mutation L($e: String!) { login(email: $e, password: "x") { token } }', { e: 42 })).toEqual([
      { name: "login", email: undefined },
    ]);
    expect(fieldsOf("{ products { totalCount } me { id } }")).toEqual([
      { name: "products", email: undefined },
      { name: "me", email: undefined },
    ]);
  });
});

async function decide(rules: unknown[], n: number): Promise<Decision> {
  let t = 0;
  const limiter = new RateLimiter({ rules: rules as never, now: () => t });
  let last: Decision | undefined;
  for (let i = 0; i < n; i++) {
    t += 1000;
    last = await limiter.check({ ip: "192.0.2.1", operationType: "query", rootFields: [] });
  }
  return last!;
}

describe("the RateLimit headers", () => {
  it("name each counting rule with its quota and window, and what remains and when it comes back", async () => {
    const decision = await decide(
      [
        { id: "w", algorithm: "sliding-window", key: ["ip"], limit: 5, window: "1m" },
        { id: "b", algorithm: "token-bucket", key: ["ip"], limit: 100, refill: { tokens: 10, every: "1s" } },
      ],
      3,
    );
    const headers = rateLimitHeaders(decision)!;
    expect(headers.policy).toBe('"w";q=5;w=60, "b";q=100;w=10');
    // Three hits a second apart: two left; the first leaves the window 58 s from now; the bucket is full again at once.
    expect(headers.limit).toBe('"w";r=2;t=58, "b";r=99;t=1');
    // Valid Structured Fields, as a client library reads them.
    expect(parseList(headers.limit).map(([name, params]) => [name, Object.fromEntries(params)])).toEqual([
      ["w", { r: 2, t: 58 }],
      ["b", { r: 99, t: 1 }],
    ]);
  });

  it("are absent when no rule counted the request", () => {
    expect(rateLimitHeaders({ allowed: true, outcomes: [], retryAfterMs: 0, decidedBy: "none" })).toBeUndefined();
  });
});

describe("a refusal", () => {
  it("names the rule, its limit and the wait in seconds", async () => {
    const refused = await decide([{ id: "w", algorithm: "sliding-window", key: ["ip"], limit: 2, window: "1m" }], 3);
    expect(refused.allowed).toBe(false);
    const refusal = refusalOf(refused);
    expect(refusal.retryAfterSeconds).toBe(58);
    expect(refusal.body).toEqual({
      message: 'Too many requests: rule "w" allows 2 per 60 s. Retry after 58 s.',
      extensions: { code: "RATE_LIMITED", rule: "w", limit: 2, windowSeconds: 60, retryAfter: 58 },
    });
  });

  it("of a request heavier than the limit says it can never pass and waits a whole window", async () => {
    const rule = rateLimitRuleSchema.parse({ id: "login-ip", algorithm: "sliding-window", key: ["ip"], limit: 20, window: "1m" });
    const store = createMemoryStore();
    const { allowed, outcomes } = await store.decide([{ rule, key: "k", cost: 100 }]);
    const refusal = refusalOf({ allowed, outcomes, retryAfterMs: -1, decidedBy: "memory" });
    expect(refusal.retryAfterSeconds).toBe(60);
    expect(refusal.body.message).toMatch(/counts more than rule "login-ip" allows \(20 per 60 s\)/);
  });
});

describe("the plugin", () => {
  const schema = buildSchema(`type Query { items: [Item!]! me: String }
    type Item { id: ID! name: String! }
    type Mutation { login(email: String!, password: String!): String }`);

  async function respond(
    plugin: ApolloServerPlugin<BaseContext>,
    query: string,
    contextValue: object,
    variables: Record<string, unknown> = {},
  ) {
    const document = parse(query);
    const operation = getOperationAST(document)!;
    const response = { http: { status: undefined as number | undefined, headers: new HeaderMap() } };
    const listener = await plugin.requestDidStart!({ contextValue } as never);
    const answer = await listener!.responseForOperation!({
      operation,
      document,
      schema,
      operationName: operation.name?.value ?? null,
      request: { variables },
      response,
      contextValue,
    } as never);
    return { answer, headers: response.http.headers };
  }

  function pluginWith(rules: unknown[], costOf?: () => number) {
    let t = 0;
    const limiter = new RateLimiter({ rules: rules as never, now: () => (t += 1) });
    const registry = new Registry();
    const metrics = createMetrics({ service: "gateway", defaultMetrics: false });
    const rejections = new Counter({ name: "rejections", help: "h", labelNames: ["rule"], registers: [registry] });
    const plugin = createRateLimitPlugin<BaseContext>({
      limit: { limiter, rejections, close: () => {} },
      identityOf: () => null,
      clientIpOf: () => "192.0.2.7",
      metrics,
      ...(costOf ? { costOf } : {}),
    });
    return { plugin, registry };
  }

  it("weighs a cost-weighted rule by the query-limits plugin's cost, or the cost model when there is none", async () => {
    const rule = { id: "cost", algorithm: "sliding-window", key: ["ip"], weight: "cost", limit: 100, window: "1m" };
    const measured = pluginWith([rule], () => 40);
    const first = await respond(measured.plugin, "{ me }", {});
    expect(first.answer).toBeNull();
    expect(members(first.headers.get("ratelimit"))["cost"]).toMatchObject({ r: 60 });
    // Without it: the gateway's cost model (@ecom/limits), here a list of the default assumed size.
    const query = "{ items { id name } }";
    const expected = operationCost({ schema, document: parse(query), config: GATEWAY_LIMIT_DEFAULTS.cost });
    expect(expected).toBeGreaterThan(1);
    const second = await respond(pluginWith([rule]).plugin, query, {});
    expect(members(second.headers.get("ratelimit"))["cost"]).toMatchObject({ r: 100 - expected });
  });

  it("answers a refused operation 429 with Retry-After and one RATE_LIMITED error, counting the rule", async () => {
    const { plugin, registry } = pluginWith([
      { id: "login-ip", algorithm: "sliding-window", key: ["ip"], match: { rootFields: ["login"] }, limit: 2, window: "1m" },
    ]);
    const guesses =
      'mutation { a: login(email: "x@y.z", password: "1") b: login(email: "x@y.z", password: "2") c: login(email: "x@y.z", password: "3") }';
    const { answer, headers } = await respond(plugin, guesses, {});
    expect(answer?.http).toMatchObject({ status: 429 });
    expect(answer?.http?.headers.get("retry-after")).toBe("60");
    expect(answer?.body).toEqual({
      kind: "single",
      singleResult: {
        errors: [
          {
            message:
              'Too many requests: this request counts more than rule "login-ip" allows (2 per 60 s); send fewer operations or fields at once.',
            extensions: { code: "RATE_LIMITED", rule: "login-ip", limit: 2, windowSeconds: 60, retryAfter: 60 },
          },
        ],
      },
    });
    expect(members(headers.get("ratelimit-policy"))).toEqual({ "login-ip": { q: 2, w: 60 } });
    expect(await registry.getSingleMetricAsString("rejections")).toContain('rejections{rule="login-ip"} 1');
  });
});

function members(field: string | undefined): Record<string, Record<string, unknown>> {
  if (!field) return {};
  return Object.fromEntries(parseList(field).map(([name, params]) => [String(name), Object.fromEntries(params)]));
}
