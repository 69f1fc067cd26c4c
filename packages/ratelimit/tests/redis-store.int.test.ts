/**
 * The Redis store and limiter against real Redis: the shared one of the test run (own key prefix) for the
 * algorithms, and a private redis-server, stopped and started again, for the Redis-down policies.
 */
import { randomBytes } from "node:crypto";
import { startPrivateRedis, type PrivateRedis } from "@ecom/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  createRedisStore,
  rateLimitRuleSchema,
  RateLimiter,
  type Hit,
  type RateLimitRuleInput,
  type RedisDownPolicy,
  type RequestFacts,
} from "../src/index.ts";

const run = inject("testRun");
const connections: Redis[] = [];
/** A connection as the gateway makes it: failing fast while Redis is unreachable. */
function connect(url = run.redisUrl): Redis {
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 1000, retryStrategy: () => 50 });
  redis.on("error", () => {});
  connections.push(redis);
  return redis;
}
const ready = (redis: Redis) => (redis.status === "ready" ? Promise.resolve() : new Promise<void>((r) => redis.once("ready", () => r())));
const prefix = () => `${run.redisPrefix}rl-${randomBytes(4).toString("hex")}:`;
const hit = (rule: RateLimitRuleInput, cost = 1, key = "k"): Hit => ({ rule: rateLimitRuleSchema.parse(rule), key, cost });
const facts: RequestFacts = { ip: "203.0.113.9", operationType: "query", rootFields: [] };

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let shared: Redis;
beforeAll(async () => {
  shared = connect();
  await ready(shared);
});
afterAll(() => {
  for (const c of connections) c.disconnect();
});

describe("the Redis store", () => {
  it("admits exactly a sliding window's limit and is admitted again once the oldest hit has left, not before", async () => {
    const store = createRedisStore({ redis: shared, prefix: prefix() });
    const rule = { id: "w", algorithm: "sliding-window", key: ["ip"], limit: 5, window: 1500 } as const;
    const remaining: number[] = [];
    for (let i = 0; i < 5; i++) {
      const d = await store.decide([hit(rule)]);
      expect(d.allowed).toBe(true);
      remaining.push(d.outcomes[0]!.remaining);
    }
    expect(remaining).toEqual([4, 3, 2, 1, 0]);
    const refused = await store.decide([hit(rule)]);
    const refusedAt = Date.now();
    expect(refused.allowed).toBe(false);
    const wait = refused.outcomes[0]!.retryAfterMs;
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(1500);
    await until(async () => (await store.decide([hit(rule)])).allowed, "the window to slide");
    // Redis's clock and this one tick apart by at most a millisecond or two.
    expect(Date.now() - refusedAt).toBeGreaterThanOrEqual(wait - 5);
    expect((await store.decide([hit(rule, 6)])).outcomes[0]!.retryAfterMs).toBe(-1);
  });

  it("refills a token bucket at its rate, never above its capacity", async () => {
    const store = createRedisStore({ redis: shared, prefix: prefix() });
    const rule = { id: "b", algorithm: "token-bucket", key: ["ip"], limit: 3, refill: { tokens: 1, every: 400 } } as const;
    let admitted = 0;
    while ((await store.decide([hit(rule)])).allowed) admitted++;
    expect(admitted).toBe(3);
    const refused = await store.decide([hit(rule)]);
    const refusedAt = Date.now();
    expect(refused.outcomes[0]).toMatchObject({ allowed: false, remaining: 0 });
    expect(refused.outcomes[0]!.retryAfterMs).toBeGreaterThan(0);
    expect(refused.outcomes[0]!.retryAfterMs).toBeLessThanOrEqual(400);
    await until(async () => (await store.decide([hit(rule)])).allowed, "one token");
    expect(Date.now() - refusedAt).toBeGreaterThanOrEqual(refused.outcomes[0]!.retryAfterMs - 5);
    // A full bucket again (1.2 s), and no more than its capacity.
    await until(async () => (await store.decide([hit(rule, 3)])).allowed, "a full bucket");
    expect((await store.decide([hit(rule, 4)])).outcomes[0]!.retryAfterMs).toBe(-1);
  });

  it("counts nothing of a request that one rule refuses", async () => {
    const store = createRedisStore({ redis: shared, prefix: prefix() });
    const big = { id: "big", algorithm: "token-bucket", key: ["ip"], limit: 100, refill: { tokens: 1, every: "1h" } } as const;
    const small = { id: "small", algorithm: "sliding-window", key: ["ip"], limit: 2, window: "1h" } as const;
    for (let i = 0; i < 3; i++) await store.decide([hit(big, 10, "b"), hit(small, 1, "s")]);
    const alone = await store.decide([hit(big, 10, "b")]);
    expect(alone.outcomes[0]!.remaining).toBe(70);
  });

  it.each([
    { id: "sw", algorithm: "sliding-window", key: ["ip"], limit: 250, window: "10m" },
    { id: "tb", algorithm: "token-bucket", key: ["ip"], limit: 250, refill: { tokens: 1, every: "1h" } },
  ] as const)("lets two limiters on two connections admit exactly the limit together ($algorithm)", async (rule) => {
    const keys = prefix();
    const [a, b] = [connect(), connect()];
    await Promise.all([ready(a), ready(b)]);
    const limiters = [a, b].map((redis) => new RateLimiter({ rules: [rule], redis, prefix: keys }));
    const decisions = await Promise.all(Array.from({ length: 400 }, (_, i) => limiters[i % 2]!.check(facts)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(250);
    expect(new Set(decisions.map((d) => d.decidedBy))).toEqual(new Set(["redis"]));
  });
});

describe("the limiter while Redis is down", () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await startPrivateRedis();
  });
  afterAll(async () => {
    await redis?.dispose();
  });

  it.each(["local", "allow", "deny"] as const)(
    "follows the %s policy, logs the outage once, counts each decision, and shares again once Redis is back",
    async (policy: RedisDownPolicy) => {
      const connection = connect(redis.url);
      await ready(connection);
      const logs: string[] = [];
      const fallbacks: RedisDownPolicy[] = [];
      const limiter = new RateLimiter({
        rules: [{ id: "three", algorithm: "sliding-window", key: ["ip"], limit: 3, window: "1h" }],
        redis: connection,
        prefix: prefix(),
        onRedisDown: policy,
        logger: { info: (_d, m) => logs.push(`info ${m}`), warn: (_d, m) => logs.push(`warn ${m}`) },
        onFallback: (p) => fallbacks.push(p),
      });
      expect((await limiter.check(facts)).decidedBy).toBe("redis");

      await redis.stop();
      const during = [];
      for (let i = 0; i < 5; i++) during.push(await limiter.check(facts));
      expect(new Set(during.map((d) => d.decidedBy))).toEqual(new Set([policy]));
      const admitted = during.filter((d) => d.allowed).length;
      // local: this instance's own count of the rule (3), from zero; allow: all; deny: none.
      expect(admitted).toBe({ local: 3, allow: 5, deny: 0 }[policy]);
      if (policy === "deny") expect(during[0]!.retryAfterMs).toBeGreaterThan(0);
      expect(fallbacks).toEqual(Array<RedisDownPolicy>(5).fill(policy));
      expect(logs.filter((l) => l.startsWith("warn"))).toHaveLength(1);

      await redis.start();
      await ready(connection);
      // Back on the shared count (this redis-server keeps nothing on disk: it restarted empty).
      const after = [];
      for (let i = 0; i < 4; i++) after.push(await limiter.check(facts));
      expect(after.map((d) => [d.decidedBy, d.allowed])).toEqual([
        ["redis", true],
        ["redis", true],
        ["redis", true],
        ["redis", false],
      ]);
      expect(logs.filter((l) => l.startsWith("info"))).toHaveLength(1);
      expect(fallbacks).toHaveLength(5);
    },
  );
});
