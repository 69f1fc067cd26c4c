import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CircuitBreaker, isBrokenCircuitError, ResilienceConfigError, type BreakerTransition } from "../src/index.ts";

function breaker(config: Record<string, unknown> = {}) {
  const transitions: BreakerTransition[] = [];
  const b = new CircuitBreaker(config, { onTransition: (t) => transitions.push(t) });
  return { b, transitions };
}

const fail = (b: CircuitBreaker, reason = "HTTP 503") => b.acquire().failure(reason);
const succeed = (b: CircuitBreaker) => b.acquire().success();

function rejection(fn: () => unknown) {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe("CircuitBreaker", () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  it("opens after the configured number of consecutive failures, and a success in between resets the count", () => {
    const { b, transitions } = breaker({ consecutiveFailures: 3, minimumRequests: 0 });
    fail(b);
    fail(b);
    succeed(b);
    fail(b);
    fail(b);
    expect(b.state).toBe("CLOSED");
    fail(b, "timeout");
    expect(b.state).toBe("OPEN");
    expect(transitions).toEqual([{ from: "CLOSED", to: "OPEN", reason: "3 consecutive failures (last: timeout)", at: 1_000_000 }]);
  });

  it("opens on the failure ratio over the rolling window, only once the window holds the minimum number of calls", () => {
    const { b } = breaker({ consecutiveFailures: 0, failureRatio: 0.5, minimumRequests: 10, windowMs: 10_000 });
    // Alternating: a ratio of 0.5 from the second call on, but fewer than 10 calls until the 10th.
    for (let i = 0; i < 9; i++) (i % 2 === 0 ? fail : succeed)(b);
    expect(b.state).toBe("CLOSED");
    fail(b);
    expect(b.state).toBe("OPEN");
  });

  it("forgets failures that aged out of the window", () => {
    const { b } = breaker({ consecutiveFailures: 0, failureRatio: 0.5, minimumRequests: 4, windowMs: 10_000, windowBuckets: 10 });
    fail(b);
    fail(b);
    fail(b);
    vi.advanceTimersByTime(11_000);
    succeed(b);
    succeed(b);
    succeed(b);
    fail(b);
    // 1 failure in 4 calls inside the window: 0.25.
    expect(b.state).toBe("CLOSED");
    expect(b.snapshot().window).toEqual({ calls: 4, failures: 1 });
  });

  it("fails fast while open, telling how long until a probe is let through", () => {
    const { b } = breaker({ consecutiveFailures: 1, openMs: 5000 });
    fail(b);
    vi.advanceTimersByTime(1500);
    const error = rejection(() => b.acquire());
    expect(isBrokenCircuitError(error)).toBe(true);
    expect(error).toMatchObject({ state: "OPEN", retryAfterMs: 3500, reason: "circuit open", breakerState: "OPEN" });
  });

  it("goes half-open after openMs, lets a limited number of probes through at once, and closes after the success threshold", () => {
    const { b, transitions } = breaker({ consecutiveFailures: 1, openMs: 5000, halfOpenMaxProbes: 2, successThreshold: 3 });
    fail(b);
    vi.advanceTimersByTime(4999);
    expect(b.state).toBe("OPEN");
    vi.advanceTimersByTime(1);
    expect(b.state).toBe("HALF_OPEN");

    const p1 = b.acquire();
    const p2 = b.acquire();
    expect(rejection(() => b.acquire())).toMatchObject({ state: "HALF_OPEN" });
    p1.success();
    p2.success();
    expect(b.state).toBe("HALF_OPEN");
    b.acquire().success();
    expect(b.state).toBe("CLOSED");
    expect(transitions.map((t) => `${t.from}->${t.to}: ${t.reason}`)).toEqual([
      "CLOSED->OPEN: 1 consecutive failures (last: HTTP 503)",
      "OPEN->HALF_OPEN: open for 5000 ms",
      "HALF_OPEN->CLOSED: 3 successful probes",
    ]);
  });

  it("re-opens for another openMs when a probe fails", () => {
    const { b, transitions } = breaker({ consecutiveFailures: 1, openMs: 1000, halfOpenMaxProbes: 1, successThreshold: 2 });
    fail(b);
    vi.advanceTimersByTime(1000);
    succeed(b);
    fail(b, "ECONNREFUSED");
    expect(b.state).toBe("OPEN");
    expect(transitions.at(-1)).toMatchObject({ from: "HALF_OPEN", to: "OPEN", reason: "probe failed (ECONNREFUSED)" });
    vi.advanceTimersByTime(999);
    expect(b.state).toBe("OPEN");
    vi.advanceTimersByTime(1);
    expect(b.state).toBe("HALF_OPEN");
  });

  it("frees a probe slot when a probe ends without a verdict (released), without counting it", () => {
    const { b } = breaker({ consecutiveFailures: 1, openMs: 1000, halfOpenMaxProbes: 1, successThreshold: 1 });
    fail(b);
    vi.advanceTimersByTime(1000);
    b.acquire().release();
    expect(b.state).toBe("HALF_OPEN");
    succeed(b);
    expect(b.state).toBe("CLOSED");
  });

  it("ignores results of calls admitted before the last transition", () => {
    const { b } = breaker({ consecutiveFailures: 2, openMs: 1000, halfOpenMaxProbes: 1, successThreshold: 1 });
    const slow = b.acquire();
    fail(b);
    fail(b);
    expect(b.state).toBe("OPEN");
    vi.advanceTimersByTime(1000);
    expect(b.state).toBe("HALF_OPEN");
    // The slow call admitted while CLOSED succeeds now: it is not a probe and must not close the breaker.
    slow.success();
    expect(b.state).toBe("HALF_OPEN");
    // Settling a permit twice counts once.
    const probe = b.acquire();
    probe.failure("timeout");
    probe.success();
    expect(b.state).toBe("OPEN");
  });

  it("counts nothing and never opens when disabled; disabling an open breaker closes it", () => {
    const { b } = breaker({ consecutiveFailures: 1 });
    fail(b);
    expect(b.state).toBe("OPEN");
    b.update({ ...b.settings, enabled: false });
    expect(b.state).toBe("CLOSED");
    for (let i = 0; i < 10; i++) fail(b);
    expect(b.state).toBe("CLOSED");
  });

  it("takes new thresholds live with update() and refuses invalid ones, keeping the old", () => {
    const { b } = breaker({ consecutiveFailures: 5 });
    fail(b);
    fail(b);
    b.update({ ...b.settings, consecutiveFailures: 3 });
    fail(b);
    expect(b.state).toBe("OPEN");
    expect(() => b.update({ consecutiveFailures: -1, openMs: "soon" })).toThrow(ResilienceConfigError);
    expect(() => b.update({ consecutiveFailures: -1 })).toThrow(/consecutiveFailures/);
    expect(b.settings.consecutiveFailures).toBe(3);
  });
});
