/**
 * The whole-response cache against a real Redis (the test run's key prefix) and a gateway in front of fixture
 * subgraphs: what is served from the cache is counted where it matters, at the subgraph.
 */
import { composeServices } from "@apollo/composition";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createMetrics } from "@ecom/observability";
import { parse } from "graphql";
import { Redis } from "ioredis";
import { cachePolicyOf, createResponseCachePlugin, type CacheHints } from "../src/plugins/response-cache.ts";
import {
  ACCOUNTS_SDL,
  CATALOG_SDL,
  composeFixture,
  gql,
  silentLogger,
  startAccounts,
  startCatalog,
  startGateway,
  testTokens,
  type FixtureSubgraph,
} from "./helpers.ts";

const HINTS: CacheHints = { "Query.products": { maxAge: 30 }, Product: { maxAge: 60 }, "Query.fail": { maxAge: 30 } };
const supergraph = composeFixture({ accounts: ACCOUNTS_SDL, catalog: CATALOG_SDL });

/** The fixture's API schema, as Apollo Server hands it to plugins. */
function apiSchema() {
  const composed = composeServices([
    { name: "accounts", url: "http://placeholder/accounts", typeDefs: parse(ACCOUNTS_SDL) },
    { name: "catalog", url: "http://placeholder/catalog", typeDefs: parse(CATALOG_SDL) },
  ]);
  if (!composed.schema) throw new Error("the fixture does not compose");
  return composed.schema.toAPISchema().toGraphQLJSSchema();
}

describe("the response cache", () => {
  const run = inject("testRun");
  const prefix = `${run.redisPrefix}response-cache:`;
  let redis: Redis;
  let accounts: FixtureSubgraph;
  let catalog: FixtureSubgraph;
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  let tokens: Awaited<ReturnType<typeof testTokens>>;
  const productsSeen = () => catalog.received.length;

  beforeAll(async () => {
    redis = new Redis(run.redisUrl, { enableOfflineQueue: true, maxRetriesPerRequest: 1 });
    tokens = await testTokens();
    [accounts, catalog] = await Promise.all([startAccounts(), startCatalog()]);
    const metrics = createMetrics({ service: "gateway", defaultMetrics: false });
    gateway = await startGateway(
      supergraph,
      { accounts: accounts.url, catalog: catalog.url },
      {
        verifyToken: tokens.verifyToken,
        metrics,
        plugins: [
          createResponseCachePlugin({ redis, logger: silentLogger(), registry: metrics.registry, keyPrefix: prefix, hints: HINTS }),
        ],
      },
    );
  });
  afterAll(async () => {
    await gateway?.stop();
    await Promise.all([accounts?.stop(), catalog?.stop()]);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it("answers a repeated anonymous public query from Redis, for its hinted max age", async () => {
    const query = "query Cached { products { id name } }";
    const first = await gql(gateway.url, query);
    const seen = productsSeen();
    const second = await gql(gateway.url, query);
    expect(second.body).toEqual(first.body);
    expect(first.body).toEqual({ data: { products: [{ id: "p1", name: "Mug" }] } });
    expect(productsSeen()).toBe(seen);
    // The smallest hint of the fields touched: Query.products 30 s (Product's 60 s is longer).
    expect(first.headers.get("cache-control")).toBe("max-age=30, public");
    expect(second.headers.get("cache-control")).toBe("max-age=30, public");
    const keys = await redis.keys(`${prefix}*`);
    expect(keys).toHaveLength(1);
    const ttl = await redis.pttl(keys[0]!);
    expect(ttl).toBeGreaterThan(25_000);
    expect(ttl).toBeLessThanOrEqual(30_000);
    // Other variables or another operation are other entries.
    await gql(gateway.url, "query CachedToo { products { id } }");
    expect(productsSeen()).toBe(seen + 1);
  });

  it("never caches for a signed-in caller, nor a query touching a field without a hint, nor an answer with errors", async () => {
    const token = await tokens.issue({ id: "u-1", role: "CUSTOMER" });
    const headers = { authorization: `Bearer ${token}` };
    const before = productsSeen();
    await gql(gateway.url, "{ products { id } }", { headers });
    await gql(gateway.url, "{ products { id } }", { headers });
    expect(productsSeen()).toBe(before + 2);

    // `me` has no hint: the whole response is not cacheable.
    const accountsBefore = accounts.received.length;
    await gql(gateway.url, "{ products { name } me { id } }");
    await gql(gateway.url, "{ products { name } me { id } }");
    expect(accounts.received.length).toBe(accountsBefore + 2);

    // An answer with errors is never stored (Query.fail has a hint, but it fails).
    const failedBefore = accounts.received.length;
    for (let i = 0; i < 2; i++) {
      const failed = await gql(gateway.url, '{ fail(code: "NOT_FOUND") }');
      expect(failed.body.errors?.[0]?.extensions?.["code"]).toBe("NOT_FOUND");
      expect(failed.headers.get("cache-control")).toBe("no-store");
    }
    expect(accounts.received.length).toBe(failedBefore + 2);
  });

  it("works out max ages like @cacheControl: the smallest hint, inheritance for scalars, fragments followed, PRIVATE never", () => {
    const schema = apiSchema();
    const age = (query: string, hints: CacheHints, operationName?: string) =>
      cachePolicyOf(schema, parse(query), operationName, hints).maxAge;
    expect(age("{ products { id name } }", HINTS)).toBe(30);
    expect(age("{ products { ...P } } fragment P on Product { id name }", HINTS)).toBe(30);
    // A field's own hint wins over its type's (as @cacheControl on a field does); scalars below inherit it.
    expect(age("{ products { ... on Product { name } } }", { "Query.products": { maxAge: 10 }, Product: { maxAge: 5 } })).toBe(10);
    expect(age("{ products { name } }", { "Query.products": { maxAge: 10 }, "Product.name": { maxAge: 3 } })).toBe(3);
    expect(age("{ me { id } }", HINTS)).toBe(0);
    expect(age("{ products { id } me { id } }", HINTS)).toBe(0);
    expect(age("{ products { id } }", { "Query.products": { maxAge: 30 }, Product: { inheritMaxAge: true } })).toBe(30);
    expect(age("{ products { id } }", { ...HINTS, Product: { maxAge: 60, scope: "PRIVATE" } })).toBe(0);
    expect(age("{ __schema { types { name } } }", HINTS)).toBe(0);
    expect(age("query A { products { id } } query B { me { id } }", HINTS, "A")).toBe(30);
    expect(age("query A { products { id } } query B { me { id } }", HINTS, "B")).toBe(0);
  });
});
