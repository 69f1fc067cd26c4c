import { ApolloServer, type GraphQLResponse } from "@apollo/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createExecutionBudgetPlugin,
  createQueryLimiter,
  createQueryLimitsApolloPlugin,
  knownOperationTypesRule,
  type LimitViolation,
  type QueryLimitsInput,
} from "../src/index.ts";
import { SDL } from "./fixtures.ts";

const LIMITS: QueryLimitsInput = {
  maxTokens: 500,
  maxNesting: 20,
  maxDepth: 6,
  maxAliases: 5,
  maxRootFields: 5,
  maxDirectives: 5,
  maxFields: 100,
  maxCost: 200,
  maxOperationsPerBatch: 2,
  cost: { fields: { "User.orders": { listSize: { slicingArguments: ["first"], sizedFields: ["edges"] } } } },
};

/** A user whose every order has the user as buyer: the cycle of the out-of-memory query. */
const user = { id: "u1", name: "Ann", tags: [] as string[] };
const orders = (first: number) => ({
  totalCount: first,
  edges: Array.from({ length: first }, (_, i) => ({
    cursor: String(i),
    node: { id: `o${i}`, buyer: user, items: [], total: { amount: 1, currency: "EUR" } },
  })),
});
const resolvers = {
  Query: { me: () => user, search: (_: unknown, { query }: { query: string }) => [{ __typename: "User", ...user, name: query }] },
  User: { orders: (_: unknown, { first }: { first: number }) => orders(first) },
  SearchResult: { __resolveType: (value: { __typename: string }) => value.__typename },
  Node: { __resolveType: () => "User" },
};

interface Result {
  status: number | undefined;
  errors: Array<{ message: string; extensions?: Record<string, unknown> }> | undefined;
  data: unknown;
}
const resultOf = (response: GraphQLResponse): Result => {
  if (response.body.kind !== "single") throw new Error("incremental");
  return {
    status: response.http.status,
    errors: response.body.singleResult.errors as Result["errors"],
    data: response.body.singleResult.data,
  };
};

describe("the query limits plugin in Apollo Server", () => {
  const violations: LimitViolation[] = [];
  const limiter = createQueryLimiter(LIMITS);
  const plugin = createQueryLimitsApolloPlugin({ limiter, onViolation: (v) => violations.push(v) });
  const server = new ApolloServer({ typeDefs: SDL, resolvers, plugins: [plugin], validationRules: [knownOperationTypesRule] });
  const run = async (query: string, options: { operationName?: string; variables?: Record<string, unknown> } = {}) =>
    resultOf(await server.executeOperation({ query, ...options }));
  beforeAll(() => server.start());
  afterAll(() => server.stop());

  it("runs an operation within the limits", async () => {
    expect(await run("{ me { orders(first: 2) { edges { node { id } } } } }")).toMatchObject({
      errors: undefined,
      data: { me: { orders: { edges: [{ node: { id: "o0" } }, { node: { id: "o1" } }] } } },
    });
  });

  it("answers QUERY_TOO_COMPLEX, HTTP 400, with rule, limit and measured value, and nothing executes", async () => {
    const deep = "{ me { orders(first: 1) { edges { node { buyer { orders(first: 1) { edges { node { id } } } } } } } } }";
    const result = await run(deep);
    expect(result.status).toBe(400);
    expect(result.data).toBeUndefined();
    expect(result.errors).toEqual([
      {
        message: "The operation has 9 levels of field depth, more than the limit of 6.",
        extensions: { code: "QUERY_TOO_COMPLEX", rule: "depth", limit: 6, measured: 9 },
      },
    ]);
    expect(violations.at(-1)).toEqual({ rule: "depth", limit: 6, measured: 9 });
  });

  it("refuses by cost, with the variables", async () => {
    const query = "query ($n: Int) { me { orders(first: $n) { edges { node { id } } } } }";
    expect((await run(query, { variables: { n: 10 } })).errors).toBeUndefined();
    const refused = await run(query, { variables: { n: 500 } });
    expect(refused.status).toBe(400);
    expect(refused.errors?.[0]?.extensions).toEqual({ code: "QUERY_TOO_COMPLEX", rule: "cost", limit: 200, measured: 1002 });
  });

  it("gives the measured cost to other plugins (the rate limiter weighs by it)", async () => {
    let seen: number | undefined;
    const probe = new ApolloServer({
      typeDefs: SDL,
      resolvers,
      plugins: [plugin, { requestDidStart: async () => ({ didResolveOperation: async (ctx) => void (seen = plugin.costOf(ctx)) }) }],
    });
    await probe.start();
    await probe.executeOperation({ query: "{ me { orders(first: 3) { edges { node { id } } } } }" });
    await probe.stop();
    expect(seen).toBe(8);
  });

  it("answers OPERATION_RESOLUTION_FAILURE (400) for an unknown operationName and for several operations without one", async () => {
    const doc = "query A { me { id } } query B { me { name } }";
    const unknown = await run(doc, { operationName: "C" });
    expect(unknown).toMatchObject({
      status: 400,
      errors: [{ message: 'Unknown operation named "C".', extensions: { code: "OPERATION_RESOLUTION_FAILURE" } }],
    });
    const none = await run(doc);
    expect(none).toMatchObject({ status: 400, errors: [{ extensions: { code: "OPERATION_RESOLUTION_FAILURE" } }] });
    const hostile = await run(doc, { operationName: "<script>" });
    expect(hostile.errors?.[0]?.message).toBe("Unknown operation name.");
  });

  it("answers GRAPHQL_VALIDATION_FAILED for a subscription the schema does not have", async () => {
    expect(await run("subscription { me { id } }")).toMatchObject({
      status: 400,
      errors: [{ message: "The schema does not support subscription operations.", extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }],
    });
  });

  it("answers BAD_USER_INPUT (400) for a NUL or an unpaired surrogate, in a variable or a literal", async () => {
    const query = "query ($q: String!) { search(query: $q) { __typename } }";
    expect(await run(query, { variables: { q: "lone \uD800" } })).toMatchObject({
      status: 400,
      errors: [{ extensions: { code: "BAD_USER_INPUT", field: "q" } }],
    });
    expect(await run('{ search(query: "nul\\u0000") { __typename } }')).toMatchObject({
      status: 400,
      errors: [{ extensions: { code: "BAD_USER_INPUT" } }],
    });
    expect((await run(query, { variables: { q: "fine 😀" } })).errors).toBeUndefined();
  });

  it("refuses a document with a NUL literal every time it comes back, and keeps checking the variables of a clean one", async () => {
    // Apollo Server hands out the same parsed document for a query it has seen: the verdict on its literals is kept.
    const literal = '{ search(query: "again\\u0000") { __typename } }';
    for (let i = 0; i < 3; i++)
      expect((await run(literal)).errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "query" });
    const query = "query Again($q: String!) { search(query: $q) { __typename } }";
    expect((await run(query, { variables: { q: "fine" } })).errors).toBeUndefined();
    expect((await run(query, { variables: { q: "nul\u0000" } })).errors?.[0]?.extensions).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "q",
    });
    expect((await run(query, { variables: { q: "fine again" } })).errors).toBeUndefined();
  });

  it("checks tokens of documents that did not pass the HTTP guard (executeOperation, persisted queries)", async () => {
    const result = await run(`{ me { ${"id ".repeat(600)} } }`);
    expect(result.errors?.[0]?.extensions).toEqual({ code: "QUERY_TOO_COMPLEX", rule: "tokens", limit: 500, measured: 605 });
  });

  it("applies new limits at once after update()", async () => {
    const query = "{ me { a: id b: id c: id d: id e: id f: id } }";
    expect((await run(query)).errors?.[0]?.extensions?.["rule"]).toBe("aliases");
    limiter.update({ ...LIMITS, maxAliases: 10 });
    expect((await run(query)).errors).toBeUndefined();
    limiter.update(LIMITS);
  });
});

describe("the execution budget", () => {
  const violations: LimitViolation[] = [];
  const server = new ApolloServer({
    typeDefs: SDL,
    resolvers,
    plugins: [createExecutionBudgetPlugin({ maxValues: 1000, maxBytes: 2000, onViolation: (v) => violations.push(v) })],
  });
  beforeAll(() => server.start());
  afterAll(() => server.stop());
  const run = async (query: string) => resultOf(await server.executeOperation({ query }));

  it("lets a result within the budget through", async () => {
    expect((await run("{ me { orders(first: 50) { edges { node { id } } } } }")).errors).toBeUndefined();
  });

  it("stops an operation whose result grows past the budget: one QUERY_TOO_COMPLEX, HTTP 400, no data", async () => {
    // The cycle of the issue's out-of-memory query: 20^3 orders' worth of values.
    const level = (inner: string) => `orders(first: 20) { edges { node { id buyer { ${inner} } } } }`;
    const result = await run(`{ me { ${level(level(level("id")))} } }`);
    expect(result.status).toBe(400);
    expect(result.data).toBeUndefined();
    expect(result.errors).toHaveLength(1);
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: "QUERY_TOO_COMPLEX", rule: "resultSize", limit: 1000 });
    expect(violations.at(-1)?.rule).toBe("resultSize");
  });

  it("stops an operation whose text grows past the byte budget", async () => {
    const result = await run(
      `{ ${Array.from({ length: 5 }, (_, i) => `s${i}: search(query: "${"x".repeat(500)}") { ... on User { name } }`).join(" ")} }`,
    );
    expect(result.status).toBe(400);
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: "QUERY_TOO_COMPLEX", rule: "responseBytes", limit: 2000 });
  });
});
