/**
 * The outage mapping of every subgraph (createSubgraphServer) for Redis, with a real redis-server of the test's own
 * (never the shared one) stopped and started again, and the two ways ioredis reports an unreachable server on a
 * request path: failing fast (`enableOfflineQueue: false`) or after its retries (`maxRetriesPerRequest`).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { parse } from "graphql";
import { createLogger, createMetrics } from "@ecom/observability";
import { signedHeaders, startPrivateRedis, testSubgraphSigning, type PrivateRedis } from "@ecom/testing";
import { createSubgraphServer, DependencyUnavailableError, type SubgraphServer } from "@ecom/service";

const SDL = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
type Query { fast: Int retried: Int explicit: Int bug: Int }`;

const sign = signedHeaders("carts");

async function post(url: string, query: string) {
  const body = JSON.stringify({ query });
  const res = await fetch(url, { method: "POST", headers: sign(body, new URL(url)), body });
  return {
    status: res.status,
    retryAfter: res.headers.get("retry-after"),
    body: (await res.json()) as { data?: unknown; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> },
  };
}

describe("a subgraph whose Redis is down", () => {
  let redis: PrivateRedis;
  let fast: Redis;
  let retried: Redis;
  let server: SubgraphServer;
  let url: string;
  const logs: string[] = [];

  beforeAll(async () => {
    redis = await startPrivateRedis();
    // What a rate limiter or nonce store on the request path should use: fail at once while disconnected.
    fast = new Redis(redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 50 });
    // ioredis' defaults, but with a bound on queued retries.
    retried = new Redis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    for (const client of [fast, retried]) client.on("error", () => {});
    const ready = (client: Redis) => (client.status === "ready" ? Promise.resolve() : new Promise((r) => client.once("ready", r)));
    await Promise.all([ready(fast), ready(retried)]);
    server = await createSubgraphServer({
      name: "carts",
      typeDefs: parse(SDL),
      resolvers: {
        Query: {
          fast: () => fast.incr("outage-test"),
          retried: () => retried.incr("outage-test"),
          explicit: () => {
            throw new DependencyUnavailableError("queue", "broker unreachable");
          },
          bug: () => {
            throw new Error("a plain bug");
          },
        },
      },
      logger: createLogger({ service: "carts", level: "warn", destination: { write: (line: string) => void logs.push(line) } }),
      metrics: createMetrics({ service: "carts", defaultMetrics: false }),
      checks: [],
      signing: testSubgraphSigning("carts"),
      createLoaders: () => ({}),
    });
    url = (await server.listen(0, "127.0.0.1")).url;
  });

  afterAll(async () => {
    await server?.stop();
    fast?.disconnect();
    retried?.disconnect();
    await redis?.dispose();
  });

  it("answers 503 SUBGRAPH_UNAVAILABLE naming redis while it is down, and serves again once it is back", async () => {
    expect((await post(url, "{ fast retried }")).body).toEqual({ data: { fast: 1, retried: 2 } });

    await redis.stop();
    for (const field of ["fast", "retried"]) {
      const down = await post(url, `{ ${field} }`);
      expect(down.status, field).toBe(503);
      expect(down.retryAfter).toBe("1");
      expect(down.body.errors).toEqual([
        {
          message: "The carts service is unavailable right now (redis): try again later.",
          path: [field],
          locations: expect.any(Array),
          extensions: { code: "SUBGRAPH_UNAVAILABLE", serviceName: "carts", dependency: "redis", retryable: true },
        },
      ]);
    }
    expect(logs.some((l) => l.includes("redis unavailable: answering 503"))).toBe(true);
    const metrics = await (await fetch(new URL("/metrics", url))).text();
    expect(metrics).toMatch(/^subgraph_dependency_unavailable_total\{dependency="redis"[^}]*\} 2$/m);

    await redis.start();
    const deadline = Date.now() + 10_000;
    let back = await post(url, "{ fast retried }");
    while ((back.status !== 200 || back.body.errors) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      back = await post(url, "{ fast retried }");
    }
    expect(back.status).toBe(200);
    expect(back.body.errors).toBeUndefined();
  });

  it("answers a DependencyUnavailableError thrown by the subgraph's own code the same way", async () => {
    const answer = await post(url, "{ explicit }");
    expect(answer.status).toBe(503);
    expect(answer.body.errors?.[0]?.extensions).toEqual({
      code: "SUBGRAPH_UNAVAILABLE",
      serviceName: "carts",
      dependency: "queue",
      retryable: true,
    });
  });

  it("leaves other errors alone: a bug is still an INTERNAL_SERVER_ERROR without its text", async () => {
    const answer = await post(url, "{ bug }");
    expect(answer.status).toBe(200);
    expect(answer.body.errors?.[0]).toMatchObject({ message: "Internal server error.", extensions: { code: "INTERNAL_SERVER_ERROR" } });
  });
});
