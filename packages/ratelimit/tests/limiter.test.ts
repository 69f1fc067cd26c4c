import { describe, expect, it } from "vitest";
import {
  DEFAULT_RATE_LIMIT_RULES,
  RateLimiter,
  hitsOf,
  rateLimitRulesSchema,
  type RateLimitRuleInput,
  type RequestFacts,
} from "../src/index.ts";

const login = (email: string) => ({ name: "login", email });
const facts = (over: Partial<RequestFacts> = {}): RequestFacts => ({
  ip: "203.0.113.7",
  operationType: "mutation",
  rootFields: [],
  ...over,
});
const rules = (input: RateLimitRuleInput[]) => rateLimitRulesSchema.parse(input);

describe("the hits of a request", () => {
  it("count `login` aliased 100 times as 100 guesses from the address, and per email", () => {
    const emails = Array.from({ length: 100 }, (_, i) => login(i < 60 ? "alice@example.com" : `user${i}@example.com`));
    const hits = hitsOf(DEFAULT_RATE_LIMIT_RULES, facts({ rootFields: emails }));
    const byRule = (id: string) => hits.filter((h) => h.rule.id === id);
    expect(byRule("login-ip").map((h) => h.cost)).toEqual([100]);
    // 60 guesses at alice on one counter, one for each of the 40 others.
    expect(
      byRule("login-email")
        .map((h) => h.cost)
        .sort((a, b) => b - a),
    ).toEqual([60, ...Array<number>(40).fill(1)]);
    expect(byRule("ip").map((h) => h.cost)).toEqual([1]);
    expect(byRule("register-ip")).toEqual([]);
  });

  it("treat an email's case and width as the same account, and keep addresses and emails out of the keys", () => {
    const a = hitsOf(DEFAULT_RATE_LIMIT_RULES, facts({ rootFields: [login("Alice@Example.COM ")] }));
    const b = hitsOf(DEFAULT_RATE_LIMIT_RULES, facts({ ip: "198.51.100.1", rootFields: [login("alice@example.com")] }));
    const emailKey = (hits: typeof a) => hits.find((h) => h.rule.id === "login-email")!.key;
    expect(emailKey(a)).toBe(emailKey(b));
    for (const h of a) expect(h.key).not.toMatch(/alice|203\.0\.113/i);
  });

  it("skip a user rule for anonymous requests and match operation names and types", () => {
    const own = rules([
      { id: "user", algorithm: "token-bucket", key: ["user"], limit: 5, refill: { tokens: 1, every: "1s" } },
      { id: "search", algorithm: "sliding-window", key: ["ip", "operation"], match: { operations: ["Search"] }, limit: 3, window: "10s" },
      { id: "writes", algorithm: "sliding-window", key: ["ip"], match: { operationTypes: ["mutation"] }, limit: 3, window: "10s" },
    ]);
    const ids = (f: RequestFacts) => hitsOf(own, f).map((h) => h.rule.id);
    expect(ids(facts({ operationType: "query", operationName: "Search" }))).toEqual(["search"]);
    expect(ids(facts({ operationType: "query", operationName: "Other", userId: "u1" }))).toEqual(["user"]);
    expect(ids(facts({ operationType: "mutation" }))).toEqual(["writes"]);
  });

  it("weigh a cost-weighted rule by the operation's cost, asked once", () => {
    let asked = 0;
    const own = rules([
      { id: "cost", algorithm: "token-bucket", key: ["ip"], weight: "cost", limit: 1000, refill: { tokens: 100, every: "1s" } },
      { id: "cost2", algorithm: "sliding-window", key: ["ip"], weight: "cost", limit: 1000, window: "1m" },
    ]);
    const hits = hitsOf(own, facts({ cost: () => (asked++, 41.2) }));
    expect(hits.map((h) => h.cost)).toEqual([42, 42]);
    expect(asked).toBe(1);
  });
});

describe("the rules model", () => {
  it("refuses invalid rules naming each problem", () => {
    const result = rateLimitRulesSchema.safeParse([
      { id: "a", algorithm: "sliding-window", key: ["ip"], limit: 0, window: "5 minutes" },
      { id: "a", algorithm: "token-bucket", key: ["ip", "ip"], limit: 5, refill: { tokens: 1, every: "1s" } },
      { id: "b", algorithm: "fixed-window", key: ["ip"], limit: 5 },
    ]);
    expect(result.success).toBe(false);
    const problems = result.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    expect(problems).toEqual(
      expect.arrayContaining([
        "0.limit: Too small: expected number to be >=1",
        expect.stringMatching(/^0\.window: must be a duration from 1ms to 24h/),
        "1.key: lists a key part twice",
        expect.stringMatching(/^2\.algorithm: /),
      ]),
    );
  });

  it("parses durations as milliseconds", () => {
    const [rule] = rules([{ id: "a", algorithm: "sliding-window", key: ["ip"], limit: 5, window: "1.5s" }]);
    expect(rule).toMatchObject({ window: 1500, weight: "hits", match: {} });
  });
});

describe("RateLimiter", () => {
  it("is exact for one instance in memory and changes its rules live", async () => {
    let t = 0;
    const limiter = new RateLimiter({
      rules: [{ id: "three", algorithm: "sliding-window", key: ["ip"], limit: 3, window: "1m" }],
      now: () => t,
    });
    const results = await Promise.all(Array.from({ length: 10 }, () => limiter.check(facts())));
    expect(results.filter((d) => d.allowed)).toHaveLength(3);
    expect(results[9]).toMatchObject({ allowed: false, retryAfterMs: 60_000, decidedBy: "memory" });
    limiter.update({ rules: [{ id: "three", algorithm: "sliding-window", key: ["ip"], limit: 5, window: "1m" }] });
    t += 1;
    expect((await limiter.check(facts())).allowed).toBe(true);
  });

  it("refuses an invalid update and keeps what was in force", () => {
    const limiter = new RateLimiter();
    expect(() =>
      limiter.update({ rules: [{ id: "x", algorithm: "token-bucket", key: ["ip"], limit: 5 } as never], onRedisDown: "allow" }),
    ).toThrow(/Invalid rate-limit settings: 0\.refill: /);
    expect(limiter.rules).toBe(DEFAULT_RATE_LIMIT_RULES);
    expect(limiter.onRedisDown).toBe("local");
    expect(() => limiter.update({ onRedisDown: "maybe" as never })).toThrow(/onRedisDown/);
  });

  it("admits without counting when no rule matches", async () => {
    const limiter = new RateLimiter({ rules: [] });
    expect(await limiter.check(facts())).toEqual({ allowed: true, outcomes: [], retryAfterMs: 0, decidedBy: "none" });
  });
});
