import { describe, expect, it } from "vitest";
import { InstanceBalancer, canaryBucket, type BalancerConfigInput, type BalancerEndpoint } from "../src/index.ts";

const a: BalancerEndpoint = { id: "a", url: "http://127.0.0.1:1/graphql", version: "stable" };
const b: BalancerEndpoint = { id: "b", url: "http://127.0.0.1:2/graphql", version: "stable" };
const c: BalancerEndpoint = { id: "c", url: "http://127.0.0.1:3/graphql", version: "stable" };
const canary: BalancerEndpoint = { id: "k", url: "http://127.0.0.1:9/graphql", version: "v2" };

function balancer(endpoints: BalancerEndpoint[], config: BalancerConfigInput = {}) {
  const clock = { now: 1_000_000 };
  let seed = 42;
  // A small deterministic PRNG (LCG), so the random draws of anonymous calls are repeatable.
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const lb = new InstanceBalancer({ name: "products", config, now: () => clock.now, random });
  lb.setInstances(endpoints);
  return { lb, clock };
}

/** Chooses `n` times, ending each call at once with `outcome`; counts the instances chosen. */
function spread(lb: InstanceBalancer, n: number, outcome: "success" | "failure" = "success", key?: (i: number) => string) {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const choice = lb.choose({ stickyKey: key?.(i) })!;
    counts[choice.endpoint.id] = (counts[choice.endpoint.id] ?? 0) + 1;
    choice.done(outcome);
  }
  return counts;
}

describe("balancing", () => {
  it("round robin takes each instance in turn", () => {
    const { lb } = balancer([a, b, c], { strategy: "round-robin" });
    const order = Array.from({ length: 6 }, () => {
      const choice = lb.choose()!;
      choice.done("success");
      return choice.endpoint.id;
    });
    expect(order).toEqual(["a", "b", "c", "a", "b", "c"]);
  });

  it("least-in-flight sends the next call to the instance with the fewest calls running", () => {
    const { lb } = balancer([a, b], { strategy: "least-in-flight" });
    const first = lb.choose()!;
    const second = lb.choose()!;
    expect(new Set([first.endpoint.id, second.endpoint.id])).toEqual(new Set(["a", "b"]));
    second.done("success");
    // first is still running: the next two calls both go to the idle one... then they are equal again.
    expect(lb.choose()!.endpoint.id).toBe(second.endpoint.id);
    expect(lb.stats().find((s) => s.id === first.endpoint.id)?.inFlight).toBe(1);
  });

  it("least-in-flight shares the load evenly between idle instances", () => {
    const { lb } = balancer([a, b, c]);
    expect(spread(lb, 300)).toEqual({ a: 100, b: 100, c: 100 });
  });

  it("keeps an instance's state when the list is replaced, and drops instances that left", () => {
    const { lb } = balancer([a, b]);
    const running = lb.choose()!;
    lb.setInstances([b, c, a]);
    expect(lb.stats().find((s) => s.id === running.endpoint.id)?.inFlight).toBe(1);
    lb.setInstances([c]);
    expect(lb.choose()!.endpoint.id).toBe("c");
    running.done("success"); // an instance that left ends its calls harmlessly
  });

  it("answers undefined with no instances, and a retry goes to an instance not yet tried", () => {
    const { lb } = balancer([]);
    expect(lb.choose()).toBeUndefined();
    lb.setInstances([a, b]);
    for (let i = 0; i < 10; i++) {
      const first = lb.choose()!;
      const retry = lb.choose({ exclude: new Set([first.endpoint.id]) })!;
      expect(retry.endpoint.id).not.toBe(first.endpoint.id);
      first.done("failure");
      retry.done("success");
    }
  });
});

describe("outlier ejection", () => {
  it("ejects an instance after consecutive failures, for the base ejection time", () => {
    const { lb, clock } = balancer([a, b], { strategy: "round-robin", outlierDetection: { consecutiveFailures: 3, baseEjectionMs: 5000 } });
    for (let i = 0; i < 3; i++) {
      const choice = lb.choose({ exclude: new Set(["b"]) })!;
      expect(choice.endpoint.id).toBe("a");
      choice.done("failure");
    }
    expect(spread(lb, 10)).toEqual({ b: 10 });
    clock.now += 5001;
    expect(spread(lb, 10)).toEqual({ a: 5, b: 5 });
  });

  it("ejects again at once after one more failure on return, for twice as long; a success clears the record", () => {
    const { lb, clock } = balancer([a, b], { strategy: "round-robin", outlierDetection: { consecutiveFailures: 2, baseEjectionMs: 1000 } });
    const failA = () => lb.choose({ exclude: new Set(["b"]) })!.done("failure");
    failA();
    failA();
    expect(lb.stats().find((s) => s.id === "a")?.ejectedUntil).toBe(clock.now + 1000);
    clock.now += 1001;
    failA();
    expect(lb.stats().find((s) => s.id === "a")?.ejectedUntil).toBe(clock.now + 2000);
    clock.now += 2001;
    lb.choose({ exclude: new Set(["b"]) })!.done("success");
    expect(lb.stats().find((s) => s.id === "a")).toMatchObject({ consecutiveFailures: 0, ejections: 0 });
  });

  it("never ejects more than maxEjectedPercent, and never the only instance", () => {
    const { lb } = balancer([a, b], { outlierDetection: { consecutiveFailures: 1, maxEjectedPercent: 50 } });
    spread(lb, 10, "failure");
    expect(lb.stats().filter((s) => s.ejectedUntil > 0)).toHaveLength(1);
    const single = balancer([a], { outlierDetection: { consecutiveFailures: 1 } }).lb;
    spread(single, 5, "failure");
    expect(single.stats()[0]!.ejectedUntil).toBe(0);
  });

  it("with ejection disabled, failures never take an instance out", () => {
    const { lb } = balancer([a, b], { outlierDetection: { enabled: false, consecutiveFailures: 1 } });
    spread(lb, 20, "failure");
    expect(lb.stats().every((s) => s.ejectedUntil === 0)).toBe(true);
  });

  it("tries an ejected instance rather than failing when every other one was tried (panic mode)", () => {
    const { lb } = balancer([a, b], { outlierDetection: { consecutiveFailures: 1 } });
    lb.choose({ exclude: new Set(["b"]) })!.done("failure");
    expect(lb.choose({ exclude: new Set(["b"]) })!.endpoint.id).toBe("a");
  });

  it("refuses invalid settings and keeps the old ones", () => {
    const { lb } = balancer([a, b], { strategy: "round-robin" });
    expect(() => lb.update({ strategy: "random" as never })).toThrow();
    expect(() => lb.update({ outlierDetection: { consecutiveFailures: 0 } })).toThrow();
    const order = [lb.choose()!, lb.choose()!].map((x) => x.endpoint.id);
    expect(order).toEqual(["a", "b"]);
  });
});

describe("canary routing", () => {
  it("sends the canary its weight of anonymous traffic (10% of 2,000 calls, within 2%)", () => {
    const { lb } = balancer([a, b, canary]);
    lb.setCanary({ version: "v2", weight: 10 });
    const counts = spread(lb, 2000);
    expect(counts["k"]! / 2000).toBeGreaterThan(0.08);
    expect(counts["k"]! / 2000).toBeLessThan(0.12);
    expect(Math.abs(counts["a"]! - counts["b"]!)).toBeLessThanOrEqual(1);
  });

  it("keeps one user on one version, and splits distinct users by the weight", () => {
    const { lb } = balancer([a, canary]);
    lb.setCanary({ version: "v2", weight: 10 });
    for (const user of ["user-1", "user-2", "user-3", "user-4"]) {
      const versions = new Set(Array.from({ length: 50 }, () => lb.choose({ stickyKey: user })!).map((x) => x.endpoint.version));
      expect(versions.size).toBe(1);
    }
    const counts = spread(lb, 2000, "success", (i) => `user-${i}`);
    expect(counts["k"]! / 2000).toBeGreaterThan(0.08);
    expect(counts["k"]! / 2000).toBeLessThan(0.12);
  });

  it("raising the weight moves users from stable to canary only", () => {
    const users = Array.from({ length: 500 }, (_, i) => `u${i}`);
    const { lb } = balancer([a, canary]);
    lb.setCanary({ version: "v2", weight: 10 });
    const before = new Set(users.filter((u) => lb.choose({ stickyKey: u })!.side === "canary"));
    lb.setCanary({ version: "v2", weight: 30 });
    const after = new Set(users.filter((u) => lb.choose({ stickyKey: u })!.side === "canary"));
    for (const u of before) expect(after.has(u)).toBe(true);
    expect(after.size).toBeGreaterThan(before.size);
  });

  it("pins a call to the canary or to stable whatever the weight", () => {
    const { lb } = balancer([a, canary]);
    lb.setCanary({ version: "v2", weight: 0 });
    expect(spread(lb, 50)).toEqual({ a: 50 });
    expect(lb.choose({ pin: "canary" })!.endpoint.id).toBe("k");
    lb.setCanary({ version: "v2", weight: 100 });
    expect(lb.choose({ pin: "stable" })!.endpoint.id).toBe("a");
    expect(lb.choose()!.side).toBe("canary");
  });

  it("serves the canary's share from stable while every canary instance is ejected", () => {
    const { lb } = balancer([a, b, canary], { outlierDetection: { consecutiveFailures: 1 } });
    lb.setCanary({ version: "v2", weight: 100 });
    lb.choose()!.done("failure");
    expect(lb.stats().find((s) => s.id === "k")!.ejectedUntil).toBeGreaterThan(0);
    expect(Object.keys(spread(lb, 20)).sort()).toEqual(["a", "b"]);
  });

  it("without a route, or without canary instances, treats every instance alike", () => {
    const { lb } = balancer([a, b]);
    lb.setCanary({ version: "v2", weight: 50 });
    expect(spread(lb, 20)).toEqual({ a: 10, b: 10 });
  });

  it("buckets are stable per key and salt", () => {
    expect(canaryBucket("user-1", "products")).toBe(canaryBucket("user-1", "products"));
    expect(canaryBucket("user-1", "products")).toBeGreaterThanOrEqual(0);
    expect(canaryBucket("user-1", "products")).toBeLessThan(10_000);
  });
});
