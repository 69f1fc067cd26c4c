import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parse } from "graphql";
import {
  checkGraphQLRequest,
  createQueryLimiter,
  jsonNesting,
  findIllFormedValue,
  GATEWAY_LIMIT_DEFAULTS,
  illFormedInputError,
  isIllFormedString,
  limitsFromEnv,
  queryLimitsEnv,
  SUBGRAPH_LIMIT_DEFAULTS,
  type QueryLimitsInput,
} from "../src/index.ts";
import { z } from "@ecom/config";
import { fragmentBomb, operationOf, schema } from "./fixtures.ts";

const LIMITS: QueryLimitsInput = {
  maxTokens: 200,
  maxNesting: 10,
  maxDepth: 5,
  maxAliases: 3,
  maxRootFields: 3,
  maxDirectives: 3,
  maxFields: 50,
  maxCost: 100,
  maxOperationsPerBatch: 2,
  cost: { fields: { "User.orders": { listSize: { slicingArguments: ["first"], sizedFields: ["edges"] } } } },
};

const check = (limiter: ReturnType<typeof createQueryLimiter>, query: string, variables: Record<string, unknown> = {}) => {
  const { document, operation } = operationOf(query);
  return limiter.checkOperation({ schema, document, operation, variables });
};

describe("the query limiter", () => {
  const limiter = createQueryLimiter(LIMITS);

  it("passes an operation within every limit, with its cost", () => {
    expect(check(limiter, "{ me { orders(first: 5) { edges { node { id } } } } }")).toMatchObject({ violation: null, cost: 12 });
  });

  it.each([
    ["depth", "{ me { orders { edges { node { buyer { id } } } } } }", 5, 6],
    ["aliases", "{ me { a: id b: id c: id d: id } }", 3, 4],
    ["rootFields", '{ me { id } products { totalCount } node(id: 1) { id } search(query: "x") { __typename } }', 3, 4],
    ["directives", "{ me @include(if: true) @skip(if: false) { id @include(if: true) name @skip(if: false) } }", 3, 4],
    ["fields", `{ me { ${"id ".repeat(60)} } }`, 50, 61],
    ["nesting", fragmentBomb(6), 10, 15],
    ["cost", "{ me { orders(first: 60) { edges { node { id } } } } }", 100, 122],
  ] as const)("refuses too many %s with the limit and the measured value", (rule, query, limit, measured) => {
    expect(check(limiter, query).violation).toEqual({ rule, limit, measured });
  });

  it("computes the cost with the variables", () => {
    const query = "query ($n: Int) { me { orders(first: $n) { edges { node { id } } } } }";
    expect(check(limiter, query, { n: 10 }).violation).toBeNull();
    expect(check(limiter, query, { n: 1000 }).violation).toEqual({ rule: "cost", limit: 100, measured: 2002 });
  });

  it("checks tokens and nesting of the text, and the size of a batch", () => {
    expect(limiter.checkSource("{ me { id } }")).toBeNull();
    expect(limiter.checkSource(`{ ${"a ".repeat(300)} }`)).toEqual({ rule: "tokens", limit: 200, measured: 302 });
    expect(limiter.checkSource(`{ a(x: ${"[".repeat(20)}1${"]".repeat(20)}) }`)).toEqual({ rule: "nesting", limit: 10, measured: 22 });
    expect(limiter.checkBatch(2)).toBeNull();
    expect(limiter.checkBatch(3)).toEqual({ rule: "operationsPerBatch", limit: 2, measured: 3 });
  });

  it("replaces its limits live with update(), and keeps them when the new ones are invalid", () => {
    const live = createQueryLimiter(LIMITS);
    const query = "{ me { a: id b: id c: id d: id } }";
    expect(check(live, query).violation?.rule).toBe("aliases");
    live.update({ ...LIMITS, maxAliases: 10 });
    expect(check(live, query).violation).toBeNull();
    expect(() => live.update({ ...LIMITS, maxAliases: 0 })).toThrow(/maxAliases must be at least 1/);
    expect(() => live.update({ ...LIMITS, maxDepht: 3 } as QueryLimitsInput)).toThrow(/maxDepht/);
    expect(live.limits.maxAliases).toBe(10);
  });

  it("caches costs per document and variables", () => {
    const { document } = operationOf("query ($n: Int) { me { orders(first: $n) { edges { node { id } } } } }");
    expect(limiter.costOf({ schema, document, variables: { n: 1 } })).toBe(4);
    expect(limiter.costOf({ schema, document, variables: { n: 2 } })).toBe(6);
    expect(limiter.costOf({ schema, document, variables: { n: 1 } })).toBe(4);
  });

  it("has defaults for the gateway and looser ones for subgraphs", () => {
    expect(GATEWAY_LIMIT_DEFAULTS).toMatchObject({ maxDepth: 12, maxAliases: 30, maxTokens: 2000, maxCost: 25_000 });
    for (const key of [
      "maxTokens",
      "maxNesting",
      "maxDepth",
      "maxAliases",
      "maxRootFields",
      "maxDirectives",
      "maxFields",
      "maxCost",
    ] as const) {
      expect(SUBGRAPH_LIMIT_DEFAULTS[key]).toBeGreaterThan(GATEWAY_LIMIT_DEFAULTS[key]);
    }
  });

  it("reads overrides from the environment and merges a cost configuration over the defaults", () => {
    const env = z.object(queryLimitsEnv).parse({ QUERY_MAX_DEPTH: "7", QUERY_COST_CONFIG: '{"fields":{"Query.me":{"weight":3}}}' });
    const limits = limitsFromEnv(env, GATEWAY_LIMIT_DEFAULTS);
    expect(limits.maxDepth).toBe(7);
    expect(limits.maxAliases).toBe(30);
    expect(limits.cost.fields["Query.me"]).toEqual({ weight: 3 });
    expect(limits.cost.fields["Query.products"]).toEqual(GATEWAY_LIMIT_DEFAULTS.cost.fields["Query.products"]);
    const bad = z.object(queryLimitsEnv).safeParse({ QUERY_MAX_DEPTH: "0", QUERY_COST_CONFIG: "{not json" });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => i.path[0])).toEqual(["QUERY_MAX_DEPTH", "QUERY_COST_CONFIG"]);
  });
});

describe("ill-formed strings", () => {
  it("are NUL characters and unpaired surrogates; paired surrogates are fine", () => {
    expect(isIllFormedString("plain é 😀")).toBe(false);
    expect(isIllFormedString("a\u0000b")).toBe(true);
    expect(isIllFormedString("\uD83D")).toBe(true);
    expect(isIllFormedString("x\uDE00")).toBe(true);
    expect(isIllFormedString("\uDE00\uD83D")).toBe(true);
  });

  it("are found in variables by path, iteratively, however deep", () => {
    expect(findIllFormedValue({ input: { items: [{ name: "ok" }, { name: "bad\u0000" }] } })).toBe("input.items.1.name");
    expect(findIllFormedValue({ a: 1, b: [true, null, "fine"] })).toBeUndefined();
    let deep: unknown = "\uD800";
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(findIllFormedValue({ deep })).toMatch(/^deep(\.0)+$/);
  });

  it("are BAD_USER_INPUT naming the variable path or the argument", () => {
    const { document } = operationOf("query ($q: String!) { search(query: $q) { __typename } me { name } }");
    expect(illFormedInputError(document, { q: "x\u0000" })?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "q" });
    expect(illFormedInputError(document, { q: "fine" })).toBeNull();
    const literal = operationOf('{ ...F } fragment F on Query { search(query: "nul \\u0000 inside") { __typename } }').document;
    expect(illFormedInputError(literal, {})?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "query" });
  });
});

describe("the HTTP guard", () => {
  const limiter = createQueryLimiter(LIMITS);
  const sha = (text: string) => createHash("sha256").update(text).digest("hex");
  const codeOf = (payload: unknown) => checkGraphQLRequest(limiter, payload)?.body.errors[0]?.extensions;

  it("lets well-formed requests through to Apollo Server, malformed ones too (it answers BAD_REQUEST)", () => {
    expect(checkGraphQLRequest(limiter, { query: "{ me { id } }", operationName: "Me_2" })).toBeNull();
    expect(checkGraphQLRequest(limiter, { query: 42 })).toBeNull();
    expect(checkGraphQLRequest(limiter, "text")).toBeNull();
    expect(
      checkGraphQLRequest(limiter, {
        query: "{ me { id } }",
        extensions: { persistedQuery: { version: 1, sha256Hash: sha("{ me { id } }") } },
      }),
    ).toBeNull();
  });

  it("refuses a batch over the limit, and checks every operation of a batch", () => {
    expect(codeOf([{ query: "{ me { id } }" }, { query: "{ me { id } }" }, { query: "{ me { id } }" }])).toMatchObject({
      code: "QUERY_TOO_COMPLEX",
      rule: "operationsPerBatch",
      limit: 2,
      measured: 3,
    });
    expect(codeOf([{ query: "{ me { id } }" }, { query: "{}", operationName: "<b>" }])).toMatchObject({ code: "BAD_REQUEST" });
  });

  it.each(["<script>alert(1)</script>", "Me\u202Eevil", "1abc", "x".repeat(129), "a b"])(
    "answers BAD_REQUEST for the operation name %j, without echoing it",
    (name) => {
      const refusal = checkGraphQLRequest(limiter, { query: "{ me { id } }", operationName: name });
      expect(refusal?.status).toBe(400);
      expect(refusal?.body.errors[0]?.extensions.code).toBe("BAD_REQUEST");
      expect(JSON.stringify(refusal?.body)).not.toContain(name.slice(0, 5));
    },
  );

  it("answers BAD_REQUEST for an unsupported APQ version, a malformed hash and a hash that does not match", () => {
    const query = "{ me { id } }";
    expect(codeOf({ query, extensions: { persistedQuery: { version: 2, sha256Hash: sha(query) } } })?.code).toBe("BAD_REQUEST");
    expect(codeOf({ extensions: { persistedQuery: { version: 1, sha256Hash: "abc" } } })?.code).toBe("BAD_REQUEST");
    expect(codeOf({ query, extensions: { persistedQuery: { version: 1, sha256Hash: sha("{ other }") } } })?.code).toBe("BAD_REQUEST");
    expect(codeOf({ query, extensions: { persistedQuery: "yes" } })?.code).toBe("BAD_REQUEST");
    // GET carries extensions as a JSON string.
    expect(codeOf({ query, extensions: JSON.stringify({ persistedQuery: { version: 3, sha256Hash: sha(query) } }) })?.code).toBe(
      "BAD_REQUEST",
    );
  });

  it("refuses too many tokens or too deep a nesting before anything parses", () => {
    expect(codeOf({ query: `{ ${"me ".repeat(500)} }` })).toMatchObject({ rule: "tokens", limit: 200, measured: 502 });
    expect(codeOf({ query: `{ a(x: ${"[".repeat(50)}1${"]".repeat(50)}) }` })).toMatchObject({ rule: "nesting", limit: 10, measured: 52 });
  });

  it("refuses variables nested deeper than maxNesting (a body or a GET's JSON string), without recursing", () => {
    const deep = JSON.parse(`${"[".repeat(100_000)}${"]".repeat(100_000)}`) as unknown;
    expect(codeOf({ query: "query Q($v: String) { me { id } }", variables: { v: deep } })).toMatchObject({
      code: "QUERY_TOO_COMPLEX",
      rule: "nesting",
      limit: 10,
      measured: 11,
    });
    expect(codeOf({ query: "{ me { id } }", variables: JSON.stringify({ v: [[[[[[[[[[[1]]]]]]]]]]] }) })).toMatchObject({
      rule: "nesting",
    });
    expect(checkGraphQLRequest(limiter, { query: "{ me { id } }", variables: { a: [[1]], b: { c: { d: 1 } } } })).toBeNull();
    expect(jsonNesting({ a: [[1]], b: { c: { d: 1 } } })).toBe(3);
    expect(jsonNesting("text")).toBe(0);
  });

  it("computes a cost for variables too deep to serialise, instead of throwing", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(() => limiter.costOf({ schema, document: parse("{ me { id } }"), variables: { v: deep } })).not.toThrow();
  });
});
