import { describe, expect, it } from "vitest";
import { createMemoryStore, rateLimitRuleSchema, type Hit, type RateLimitRuleInput } from "../src/index.ts";

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

const hit = (rule: RateLimitRuleInput, cost = 1, key = "k"): Hit => ({ rule: rateLimitRuleSchema.parse(rule), key: `${key}`, cost });
const window5 = { id: "w", algorithm: "sliding-window", key: ["ip"], limit: 5, window: 1000 } as const;
const bucket10 = { id: "b", algorithm: "token-bucket", key: ["ip"], limit: 10, refill: { tokens: 1, every: 100 } } as const;

describe("the sliding window in memory", () => {
  it("admits exactly the limit in a window and says when the oldest hit leaves it", async () => {
    const c = clock();
    const store = createMemoryStore({ now: c.now });
    const remaining: number[] = [];
    for (let i = 0; i < 5; i++) {
      const d = await store.decide([hit(window5)]);
      expect(d.allowed).toBe(true);
      remaining.push(d.outcomes[0]!.remaining);
      c.advance(100);
    }
    expect(remaining).toEqual([4, 3, 2, 1, 0]);
    // t = 500: hits at 0, 100, 200, 300, 400; the first leaves the window at 1000.
    const refused = await store.decide([hit(window5)]);
    expect(refused.allowed).toBe(false);
    expect(refused.outcomes[0]).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 500, resetMs: 500 });
    c.advance(499);
    expect((await store.decide([hit(window5)])).allowed).toBe(false);
    c.advance(1);
    const again = await store.decide([hit(window5)]);
    expect(again.outcomes[0]).toMatchObject({ allowed: true, remaining: 0 });
    // One left (the one at 100) and one came in: the next frees at 1100.
    expect((await store.decide([hit(window5)])).outcomes[0]!.retryAfterMs).toBe(100);
  });

  it("counts weights, waits for enough of them to leave, and never admits a weight over the limit", async () => {
    const c = clock();
    const store = createMemoryStore({ now: c.now });
    expect((await store.decide([hit(window5, 2)])).outcomes[0]!.remaining).toBe(3);
    c.advance(300);
    expect((await store.decide([hit(window5, 3)])).outcomes[0]!.remaining).toBe(0);
    c.advance(100);
    // Needs 2 back: the weight-2 hit at 0 leaves at 1000 (600 from now).
    expect((await store.decide([hit(window5, 2)])).outcomes[0]).toMatchObject({ allowed: false, retryAfterMs: 600 });
    // Needs 4 back: only when the weight-3 hit at 300 leaves too, at 1300.
    expect((await store.decide([hit(window5, 4)])).outcomes[0]).toMatchObject({ allowed: false, retryAfterMs: 900 });
    expect((await store.decide([hit(window5, 6)])).outcomes[0]).toMatchObject({ allowed: false, retryAfterMs: -1 });
  });

  it("keeps separate counts per key", async () => {
    const store = createMemoryStore({ now: clock().now });
    for (let i = 0; i < 5; i++) await store.decide([hit(window5, 1, "a")]);
    expect((await store.decide([hit(window5, 1, "a")])).allowed).toBe(false);
    expect((await store.decide([hit(window5, 1, "b")])).allowed).toBe(true);
  });
});

describe("the token bucket in memory", () => {
  it("admits a burst of its capacity, then refills continuously at its rate", async () => {
    const c = clock();
    const store = createMemoryStore({ now: c.now });
    let admitted = 0;
    while ((await store.decide([hit(bucket10)])).allowed) admitted++;
    expect(admitted).toBe(10);
    const refused = await store.decide([hit(bucket10)]);
    expect(refused.outcomes[0]).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 100, resetMs: 1000 });
    c.advance(99);
    expect((await store.decide([hit(bucket10)])).allowed).toBe(false);
    c.advance(1);
    expect((await store.decide([hit(bucket10)])).outcomes[0]).toMatchObject({ allowed: true, remaining: 0 });
    // 350 ms give 3.5 tokens: three hits, and the half token waits 50 ms for the fourth.
    c.advance(350);
    for (let i = 0; i < 3; i++) expect((await store.decide([hit(bucket10)])).allowed).toBe(true);
    expect((await store.decide([hit(bucket10)])).outcomes[0]!.retryAfterMs).toBe(50);
    // Never more than the capacity, however long it rests.
    c.advance(60_000);
    expect((await store.decide([hit(bucket10, 10)])).outcomes[0]).toMatchObject({ allowed: true, remaining: 0 });
    expect((await store.decide([hit(bucket10, 11)])).outcomes[0]!.retryAfterMs).toBe(-1);
  });

  it("reports what remains and when the bucket is full again", async () => {
    const store = createMemoryStore({ now: clock().now });
    expect((await store.decide([hit(bucket10, 4)])).outcomes[0]).toMatchObject({ remaining: 6, resetMs: 400, retryAfterMs: 0 });
  });
});

describe("a decision over several hits", () => {
  it("counts nothing when one hit does not fit, and everything when all do", async () => {
    const c = clock();
    const store = createMemoryStore({ now: c.now });
    const small = { ...window5, id: "small", limit: 2 } as const;
    for (let i = 0; i < 2; i++) expect((await store.decide([hit(bucket10, 1, "b"), hit(small, 1, "s")])).allowed).toBe(true);
    const refused = await store.decide([hit(bucket10, 1, "b"), hit(small, 1, "s")]);
    expect(refused.allowed).toBe(false);
    expect(refused.outcomes.map((o) => o.allowed)).toEqual([true, false]);
    // The bucket was not charged for the refused request: 7 left after this one, not 6.
    expect((await store.decide([hit(bucket10, 1, "b")])).outcomes[0]!.remaining).toBe(7);
  });

  it("stays within its size bound by forgetting the least recently used keys", async () => {
    const store = createMemoryStore({ now: clock().now, maxSize: 100 });
    for (let i = 0; i < 500; i++) await store.decide([hit(bucket10, 1, `key-${i}`)]);
    expect(store.size()).toBeLessThanOrEqual(100);
  });
});
