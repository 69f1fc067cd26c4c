import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  isBrokenCircuitError,
  isBulkheadRejectedError,
  isCancelledError,
  isDeadlineExceededError,
  isTimeoutError,
  Policy,
  PolicyRegistry,
  type PolicyEvent,
  type Verdict,
} from "../src/index.ts";

type Answer = { status: number; retryAfterMs?: number };

/** Judges answers the way the gateway does: 5xx fails and may be retried. */
const judge = (a: Answer): Verdict =>
  a.status >= 500
    ? { ok: false, reason: `HTTP ${a.status}`, retryable: true, ...(a.retryAfterMs ? { retryAfterMs: a.retryAfterMs } : {}) }
    : { ok: true };

function policy(config: Record<string, unknown> = {}) {
  const events: PolicyEvent[] = [];
  const p = new Policy("products", config, { onEvent: (e) => events.push(e), random: () => 0.5 });
  return { p, events };
}

/** An operation answering from `script` in turn (the last answer repeats), recording when each attempt started. */
function scripted(script: Answer[]) {
  const starts: number[] = [];
  const fn = vi.fn(async () => {
    starts.push(Date.now());
    return script[Math.min(starts.length - 1, script.length - 1)]!;
  });
  return { fn, starts };
}

const noJitter = { jitter: "none", baseDelayMs: 100, multiplier: 2, maxDelayMs: 10_000 } as const;

describe("Policy", () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  describe("retries", () => {
    it("retries a retryable call with exponential backoff until it succeeds", async () => {
      const { p, events } = policy({ retry: { ...noJitter, maxAttempts: 3 } });
      const { fn, starts } = scripted([{ status: 503 }, { status: 503 }, { status: 200 }]);
      const result = p.execute(fn, { retryable: true, judge });
      await vi.runAllTimersAsync();
      expect(await result).toEqual({ status: 200 });
      expect(starts).toEqual([0, 100, 300]);
      expect(events.filter((e) => e.type === "retry")).toEqual([
        { type: "retry", attempt: 2, delayMs: 100, reason: "HTTP 503" },
        { type: "retry", attempt: 3, delayMs: 200, reason: "HTTP 503" },
      ]);
    });

    it("spreads retries with full jitter: a delay between 0 and the backoff", async () => {
      const delays: number[] = [];
      for (const random of [0, 0.25, 0.999]) {
        const p = new Policy("x", { retry: { baseDelayMs: 400, maxAttempts: 2 } }, { random: () => random });
        const { fn, starts } = scripted([{ status: 503 }, { status: 200 }]);
        const result = p.execute(fn, { retryable: true, judge });
        await vi.runAllTimersAsync();
        await result;
        delays.push(starts[1]! - starts[0]!);
      }
      expect(delays).toEqual([0, 100, 399]);
    });

    it("never retries a call that is not retryable (a mutation), and returns its failed answer", async () => {
      const { p, events } = policy({ retry: { ...noJitter, maxAttempts: 5 } });
      const { fn } = scripted([{ status: 503 }, { status: 200 }]);
      const result = p.execute(fn, { retryable: false, judge });
      await vi.runAllTimersAsync();
      expect(await result).toEqual({ status: 503 });
      expect(fn).toHaveBeenCalledTimes(1);
      expect(events.some((e) => e.type === "retry")).toBe(false);
    });

    it("does not retry a failure its judge calls final (retryable: false)", async () => {
      const { p } = policy({ retry: noJitter });
      const fn = vi.fn(async () => ({ status: 500 }));
      const result = p.execute(fn, { retryable: true, judge: () => ({ ok: false, reason: "HTTP 500", retryable: false }) });
      await vi.runAllTimersAsync();
      await result;
      expect(fn).toHaveBeenCalledTimes(1);
    });

    it("waits for the dependency's Retry-After when it is longer than the backoff", async () => {
      const { p } = policy({ retry: { ...noJitter, maxAttempts: 2 } });
      const { fn, starts } = scripted([{ status: 503, retryAfterMs: 1500 }, { status: 200 }]);
      const result = p.execute(fn, { retryable: true, judge });
      await vi.runAllTimersAsync();
      await result;
      expect(starts).toEqual([0, 1500]);
    });

    it("gives up at once when Retry-After is longer than maxRetryAfterMs", async () => {
      const { p, events } = policy({ retry: { ...noJitter, maxRetryAfterMs: 1000 } });
      const { fn } = scripted([{ status: 503, retryAfterMs: 30_000 }, { status: 200 }]);
      const result = p.execute(fn, { retryable: true, judge });
      await vi.runAllTimersAsync();
      expect(await result).toMatchObject({ status: 503 });
      expect(fn).toHaveBeenCalledTimes(1);
      expect(events).toContainEqual({ type: "retry-denied", cause: "retry-after", reason: "HTTP 503" });
    });

    it("keeps retries within the budget: at most budgetRatio of the calls when everything fails", async () => {
      const { p, events } = policy({
        retry: { ...noJitter, baseDelayMs: 1, maxAttempts: 3, budgetRatio: 0.1, budgetMinPerSecond: 0, budgetWindowMs: 60_000 },
        breaker: { enabled: false },
      });
      const fn = vi.fn(async () => ({ status: 503 }));
      for (let i = 0; i < 200; i++) {
        const result = p.execute(fn, { retryable: true, judge });
        await vi.runAllTimersAsync();
        await result;
      }
      const retries = events.filter((e) => e.type === "retry").length;
      // 200 calls: 20 retries allowed (10%), where an unbounded policy would have made 400.
      expect(retries).toBe(20);
      expect(fn).toHaveBeenCalledTimes(220);
      // Every call that wanted a retry and got none (180 first retries, and the 20 retried calls' second ones).
      expect(events.filter((e) => e.type === "retry-denied" && e.cause === "budget").length).toBe(200);
      expect(p.retryBudget).toEqual({ calls: 200, retries: 20 });
    });

    it("lets a trickle of retries through at low traffic (budgetMinPerSecond), and the budget refills as the window moves", async () => {
      const { p } = policy({
        retry: { ...noJitter, baseDelayMs: 1, maxAttempts: 2, budgetRatio: 0, budgetMinPerSecond: 1, budgetWindowMs: 2000 },
        breaker: { enabled: false },
      });
      const fn = vi.fn(async () => ({ status: 503 }));
      const run = async () => {
        const result = p.execute(fn, { retryable: true, judge });
        await vi.runAllTimersAsync();
        await result;
      };
      for (let i = 0; i < 5; i++) await run();
      // 1 per second over a 2 s window: 2 retries for 5 calls.
      expect(fn).toHaveBeenCalledTimes(7);
      vi.advanceTimersByTime(3000);
      await run();
      expect(fn).toHaveBeenCalledTimes(9);
    });
  });

  describe("timeouts and the deadline", () => {
    it("aborts an attempt at its timeout, counts it as a failure and retries it", async () => {
      const { p, events } = policy({
        timeout: { attemptMs: 1000 },
        retry: { ...noJitter, maxAttempts: 2 },
        breaker: { consecutiveFailures: 2 },
      });
      const signals: AbortSignal[] = [];
      const fn = vi.fn(
        (signal: AbortSignal) =>
          new Promise<Answer>((resolve, reject) => {
            signals.push(signal);
            // The first attempt hangs until aborted; the second answers fast.
            if (signals.length === 1) signal.addEventListener("abort", () => reject(new Error("socket aborted")));
            else resolve({ status: 200 });
          }),
      );
      const result = p.execute(fn, { retryable: true, judge });
      await vi.advanceTimersByTimeAsync(999);
      expect(signals[0]!.aborted).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(signals[0]!.aborted).toBe(true);
      expect(isTimeoutError(signals[0]!.reason)).toBe(true);
      await vi.runAllTimersAsync();
      expect(await result).toEqual({ status: 200 });
      expect(events).toContainEqual({ type: "timeout", timeoutMs: 1000 });
      expect(events).toContainEqual({ type: "retry", attempt: 2, delayMs: 100, reason: "timeout" });
    });

    it("rejects with TimeoutError, not the transport's error, when the last attempt times out", async () => {
      const { p } = policy({ timeout: { attemptMs: 50 }, retry: { maxAttempts: 1 } });
      const hang = (signal: AbortSignal) =>
        new Promise<Answer>((_, reject) => signal.addEventListener("abort", () => reject(new Error("aborted"))));
      const result = p.execute(hang, { retryable: true, judge }).catch((e: unknown) => e);
      await vi.runAllTimersAsync();
      const error = await result;
      expect(isTimeoutError(error)).toBe(true);
      expect(error).toMatchObject({ reason: "timeout", breakerState: "CLOSED" });
    });

    it("never lets a retry outlive the deadline: no retry when the backoff would end after it", async () => {
      const { p, events } = policy({ retry: { ...noJitter, baseDelayMs: 500, maxAttempts: 5 } });
      const { fn, starts } = scripted([{ status: 503 }]);
      const result = p.execute(fn, { retryable: true, judge, deadline: 1200 });
      await vi.runAllTimersAsync();
      expect(await result).toEqual({ status: 503 });
      // 0, then +500 = 500; the next wait (1000) would end at 1500, past the deadline.
      expect(starts).toEqual([0, 500]);
      expect(events).toContainEqual({ type: "retry-denied", cause: "deadline", reason: "HTTP 503" });
    });

    it("cuts an attempt at the deadline when it comes before the attempt's timeout, without counting it against the breaker", async () => {
      const { p } = policy({ timeout: { attemptMs: 5000 }, breaker: { consecutiveFailures: 1 } });
      let signal: AbortSignal | undefined;
      const hang = (s: AbortSignal) => {
        signal = s;
        return new Promise<Answer>((_, reject) => s.addEventListener("abort", () => reject(new Error("aborted"))));
      };
      const result = p.execute(hang, { retryable: true, judge, deadline: 300 }).catch((e: unknown) => e);
      await vi.advanceTimersByTimeAsync(300);
      const error = await result;
      expect(isDeadlineExceededError(error)).toBe(true);
      expect(isDeadlineExceededError(signal!.reason)).toBe(true);
      expect(p.state).toBe("CLOSED");
    });

    it("does not start when the deadline has already passed", async () => {
      const { p } = policy();
      const fn = vi.fn(async () => ({ status: 200 }));
      vi.setSystemTime(5000);
      await expect(p.execute(fn, { deadline: 4000 })).rejects.toSatisfy(isDeadlineExceededError);
      expect(fn).not.toHaveBeenCalled();
    });
  });

  describe("cancellation by the caller", () => {
    it("aborts the running attempt when the caller's signal aborts, retries nothing and counts nothing", async () => {
      const { p } = policy({ retry: { maxAttempts: 3 }, breaker: { consecutiveFailures: 1 } });
      const caller = new AbortController();
      let attemptSignal: AbortSignal | undefined;
      const fn = vi.fn((s: AbortSignal) => {
        attemptSignal = s;
        return new Promise<Answer>((_, reject) => s.addEventListener("abort", () => reject(new Error("aborted"))));
      });
      const result = p.execute(fn, { retryable: true, judge, signal: caller.signal }).catch((e: unknown) => e);
      await vi.advanceTimersByTimeAsync(10);
      caller.abort(new Error("client went away"));
      const error = await result;
      expect(isCancelledError(error)).toBe(true);
      expect(attemptSignal!.aborted).toBe(true);
      await vi.runAllTimersAsync();
      expect(fn).toHaveBeenCalledTimes(1);
      expect(p.state).toBe("CLOSED");
    });

    it("stops waiting for a retry's backoff when the caller goes away", async () => {
      const { p } = policy({ retry: { ...noJitter, baseDelayMs: 1000 } });
      const caller = new AbortController();
      const { fn } = scripted([{ status: 503 }, { status: 200 }]);
      const result = p.execute(fn, { retryable: true, judge, signal: caller.signal }).catch((e: unknown) => e);
      await vi.advanceTimersByTimeAsync(500);
      caller.abort();
      expect(isCancelledError(await result)).toBe(true);
      await vi.runAllTimersAsync();
      expect(fn).toHaveBeenCalledTimes(1);
    });
  });

  describe("breaker and bulkhead", () => {
    it("fails fast without calling while the breaker is open, and retries never hammer an open breaker", async () => {
      const { p, events } = policy({ breaker: { consecutiveFailures: 2, openMs: 10_000 }, retry: { ...noJitter, maxAttempts: 5 } });
      const { fn } = scripted([{ status: 503 }]);
      const first = p.execute(fn, { retryable: true, judge }).catch((e: unknown) => e);
      await vi.runAllTimersAsync();
      // Two attempts failed, the breaker opened, the third attempt was refused by it.
      expect(isBrokenCircuitError(await first)).toBe(true);
      expect(fn).toHaveBeenCalledTimes(2);

      const second = await p.execute(fn, { retryable: true, judge }).catch((e: unknown) => e);
      expect(second).toMatchObject({ reason: "circuit open", breakerState: "OPEN" });
      expect(fn).toHaveBeenCalledTimes(2);
      expect(events.filter((e) => e.type === "rejected")).toEqual([
        { type: "rejected", reason: "circuit open" },
        { type: "rejected", reason: "circuit open" },
      ]);
      expect(events.filter((e) => e.type === "transition").map((e) => e.type === "transition" && e.transition.to)).toEqual(["OPEN"]);
    });

    it("does not count answers its judge accepts (a subgraph's GraphQL errors) against the breaker", async () => {
      const { p } = policy({ breaker: { consecutiveFailures: 1 } });
      for (let i = 0; i < 5; i++) await p.execute(async () => ({ status: 200, errors: ["NOT_FOUND"] }), { judge: () => ({ ok: true }) });
      expect(p.state).toBe("CLOSED");
    });

    it("runs at most maxConcurrent at once, queues up to maxQueue, rejects the rest at once", async () => {
      const { p, events } = policy({ bulkhead: { maxConcurrent: 2, maxQueue: 1 } });
      const gates: Array<() => void> = [];
      const fn = vi.fn(() => new Promise<Answer>((resolve) => gates.push(() => resolve({ status: 200 }))));
      const calls = [1, 2, 3, 4].map(() => p.execute(fn, { judge }).catch((e: unknown) => e));
      await vi.advanceTimersByTimeAsync(0);
      expect(fn).toHaveBeenCalledTimes(2);
      expect(isBulkheadRejectedError(await calls[3])).toBe(true);
      expect(events).toContainEqual({ type: "rejected", reason: "bulkhead full" });
      expect(p.bulkhead.load).toEqual({ running: 2, queued: 1 });
      gates[0]!();
      await vi.advanceTimersByTimeAsync(0);
      expect(fn).toHaveBeenCalledTimes(3);
      gates[1]!();
      gates[2]!();
      expect(await Promise.all(calls.slice(0, 3))).toEqual([{ status: 200 }, { status: 200 }, { status: 200 }]);
      expect(p.bulkhead.load).toEqual({ running: 0, queued: 0 });
    });

    it("a call the bulkhead refuses gives its half-open probe slot back, uncounted", async () => {
      const { p } = policy({
        breaker: { consecutiveFailures: 1, openMs: 100, halfOpenMaxProbes: 2, successThreshold: 1 },
        bulkhead: { maxConcurrent: 1, maxQueue: 0 },
      });
      await p.execute(async () => ({ status: 503 }), { judge });
      vi.advanceTimersByTime(100);
      expect(p.state).toBe("HALF_OPEN");
      let answer: (() => void) | undefined;
      const probe = p.execute(() => new Promise<Answer>((r) => (answer = () => r({ status: 200 }))), { judge });
      // The second probe slot is taken, then given back when the bulkhead refuses: again and again.
      for (let i = 0; i < 3; i++)
        await expect(p.execute(async () => ({ status: 200 }), { judge })).rejects.toSatisfy(isBulkheadRejectedError);
      expect(p.state).toBe("HALF_OPEN");
      answer!();
      await probe;
      expect(p.state).toBe("CLOSED");
    });
  });

  describe("live settings", () => {
    it("PolicyRegistry keeps one policy per name and applies update() to every policy, keeping their state", async () => {
      const registry = new PolicyRegistry({
        defaults: { breaker: { consecutiveFailures: 1 } },
        overrides: { search: { timeout: { attemptMs: 200 } } },
      });
      const products = registry.get("products");
      expect(registry.get("products")).toBe(products);
      expect(registry.get("search").settings.timeout.attemptMs).toBe(200);
      expect(products.settings.timeout.attemptMs).toBe(5000);
      await products.execute(async () => ({ status: 503 }), { judge });
      expect(products.state).toBe("OPEN");

      registry.update({ defaults: { breaker: { consecutiveFailures: 7 }, timeout: { attemptMs: 900 } } });
      expect(registry.get("products")).toBe(products);
      expect(products.state).toBe("OPEN");
      expect(products.settings.breaker.consecutiveFailures).toBe(7);
      expect(registry.get("search").settings.timeout.attemptMs).toBe(900);
      expect(() => registry.update({ deadlineMs: -5 })).toThrow(/deadlineMs/);
      expect(registry.settings.defaults.timeout.attemptMs).toBe(900);
    });
  });
});
