/**
 * A circuit breaker with the three classic states.
 *
 * Written here rather than taken from cockatiel 3.2 (which runs on Node 20): cockatiel's breaker lets exactly one
 * half-open probe through and closes on its first success, combines its triggers only through a custom
 * `IBreaker`, and cannot change its thresholds on a live instance. The issue asks for N half-open probes, a success
 * threshold, consecutive-failure and failure-ratio triggers together, and `update()` for the live configuration
 * work; with those, cockatiel would carry little of the logic. The state machine is ~150 lines and fully covered
 * by fake-timer tests (tests/breaker.test.ts).
 *
 * - CLOSED: calls go through. Opens when `consecutiveFailures` calls in a row fail, or when the failure ratio over
 *   the rolling window reaches `failureRatio` once the window holds `minimumRequests` calls.
 * - OPEN: calls fail at once with {@link BrokenCircuitError} for `openMs`.
 * - HALF_OPEN: after `openMs`, up to `halfOpenMaxProbes` calls at a time are let through; `successThreshold`
 *   successes in a row close the breaker, any failure opens it again for another `openMs`.
 *
 * The move from OPEN to HALF_OPEN happens when the breaker is next looked at (a call, or `state` read by the
 * metrics), not on a timer: no timer to leak, and fake clocks drive it exactly.
 *
 * A result is counted only against the state it was admitted in: the answer of a call admitted while CLOSED that
 * lands after the breaker opened does not count, so probes alone decide a half-open breaker's fate.
 */
import { breakerConfigSchema, parseConfig, type BreakerConfig } from "./config.ts";
import { BrokenCircuitError } from "./errors.ts";
import { RollingCounts } from "./rolling-window.ts";

/** The three states, as exported (`gateway_breaker_state`) and shown to clients (`extensions.breakerState`). */
export type BreakerStateName = "CLOSED" | "OPEN" | "HALF_OPEN";

/** The breaker's state with what each state needs (a discriminated union on `name`). */
export type BreakerState =
  | { readonly name: "CLOSED"; consecutiveFailures: number }
  | { readonly name: "OPEN"; readonly openedAt: number; readonly reason: string }
  | { readonly name: "HALF_OPEN"; inFlight: number; successes: number };

/** One change of state. */
export interface BreakerTransition {
  from: BreakerStateName;
  to: BreakerStateName;
  /** Why: `5 consecutive failures (last: timeout)`, `failure ratio 0.60 over 25 calls`, `open for 5000 ms`... */
  reason: string;
  /** Clock time of the change (ms). */
  at: number;
}

/**
 * The right to make one call. Exactly one of `success`, `failure` or `release` must be called when the call ends;
 * later calls are ignored.
 */
export interface BreakerPermit {
  /** The call succeeded. */
  success(): void;
  /** The call failed in a way that counts (timeout, connection error, 5xx...). */
  failure(reason: string): void;
  /** The call ended without telling anything about the dependency (cancelled by the caller, rejected by a bulkhead). */
  release(): void;
}

/** Options of {@link CircuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Called after every change of state. */
  onTransition?: (transition: BreakerTransition) => void;
  /**
   * Clock in ms.
   * @default Date.now
   */
  now?: () => number;
}

const NOOP_PERMIT: BreakerPermit = { success() {}, failure() {}, release() {} };

/** A circuit breaker; see the module comment for its rules. */
export class CircuitBreaker {
  private config: BreakerConfig;
  private current: BreakerState = { name: "CLOSED", consecutiveFailures: 0 };
  /** Bumped on every transition; a permit only counts in the generation it was issued in. */
  private generation = 0;
  private window: RollingCounts<"calls" | "failures">;
  private readonly now: () => number;

  constructor(
    config: unknown = {},
    private readonly options: CircuitBreakerOptions = {},
  ) {
    this.config = parseConfig(breakerConfigSchema, config);
    this.now = options.now ?? Date.now;
    this.window = this.newWindow();
  }

  private newWindow() {
    return new RollingCounts(["calls", "failures"] as const, this.config.windowMs, this.config.windowBuckets, this.now);
  }

  /** The current settings. */
  get settings(): Readonly<BreakerConfig> {
    return this.config;
  }

  /** The current state's name (moves an expired OPEN breaker to HALF_OPEN first). */
  get state(): BreakerStateName {
    return this.refresh().name;
  }

  /** The current state with its details, and the rolling window's totals. */
  snapshot(): { state: BreakerState; window: { calls: number; failures: number }; retryAfterMs: number } {
    const state = this.refresh();
    return { state: { ...state }, window: this.window.totals(), retryAfterMs: this.retryAfterMs(state) };
  }

  private retryAfterMs(state: BreakerState): number {
    return state.name === "OPEN" ? Math.max(0, state.openedAt + this.config.openMs - this.now()) : 0;
  }

  private refresh(): BreakerState {
    const state = this.current;
    if (state.name === "OPEN" && this.now() >= state.openedAt + this.config.openMs) {
      this.transition({ name: "HALF_OPEN", inFlight: 0, successes: 0 }, `open for ${this.config.openMs} ms`);
    }
    return this.current;
  }

  private transition(next: BreakerState, reason: string): void {
    const from = this.current.name;
    this.current = next;
    this.generation++;
    if (next.name !== "HALF_OPEN") this.window.reset();
    this.options.onTransition?.({ from, to: next.name, reason, at: this.now() });
  }

  private open(reason: string): void {
    this.transition({ name: "OPEN", openedAt: this.now(), reason }, reason);
  }

  /**
   * Asks to make a call: a permit, or a {@link BrokenCircuitError} thrown when the breaker is open or half-open
   * with every probe slot taken.
   */
  acquire(): BreakerPermit {
    if (!this.config.enabled) return NOOP_PERMIT;
    const state = this.refresh();
    switch (state.name) {
      case "CLOSED":
        return this.permit(this.generation);
      case "OPEN":
        throw new BrokenCircuitError("OPEN", this.retryAfterMs(state));
      case "HALF_OPEN":
        if (state.inFlight >= this.config.halfOpenMaxProbes) throw new BrokenCircuitError("HALF_OPEN", 0);
        state.inFlight++;
        return this.permit(this.generation);
      default: {
        const never: never = state;
        throw new Error(`unknown breaker state ${String(never)}`);
      }
    }
  }

  private permit(generation: number): BreakerPermit {
    let done = false;
    const settle = (outcome: "success" | "failure" | "release", reason = "") => {
      if (done) return;
      done = true;
      if (generation === this.generation) this.record(outcome, reason);
    };
    return {
      success: () => settle("success"),
      failure: (reason) => settle("failure", reason),
      release: () => settle("release"),
    };
  }

  private record(outcome: "success" | "failure" | "release", reason: string): void {
    const state = this.current;
    switch (state.name) {
      case "CLOSED": {
        if (outcome === "release") return;
        this.window.add("calls");
        if (outcome === "success") {
          state.consecutiveFailures = 0;
          return;
        }
        this.window.add("failures");
        state.consecutiveFailures++;
        const { consecutiveFailures, minimumRequests, failureRatio } = this.config;
        if (consecutiveFailures > 0 && state.consecutiveFailures >= consecutiveFailures) {
          this.open(`${state.consecutiveFailures} consecutive failures (last: ${reason})`);
          return;
        }
        const { calls, failures } = this.window.totals();
        if (minimumRequests > 0 && calls >= minimumRequests && failures / calls >= failureRatio) {
          this.open(`failure ratio ${(failures / calls).toFixed(2)} over ${calls} calls (last: ${reason})`);
        }
        return;
      }
      case "HALF_OPEN": {
        state.inFlight = Math.max(0, state.inFlight - 1);
        if (outcome === "release") return;
        if (outcome === "failure") {
          this.open(`probe failed (${reason})`);
          return;
        }
        state.successes++;
        if (state.successes >= this.config.successThreshold) {
          this.transition({ name: "CLOSED", consecutiveFailures: 0 }, `${state.successes} successful probes`);
        }
        return;
      }
      case "OPEN":
        // Not reachable: no permit is issued while open, and a permit of an older generation is not recorded.
        return;
      default: {
        const never: never = state;
        throw new Error(`unknown breaker state ${String(never)}`);
      }
    }
  }

  /**
   * Replaces the settings (validated; invalid ones throw {@link ResilienceConfigError} and change nothing). The
   * state is kept; a changed window starts empty; a breaker switched off closes.
   */
  update(config: unknown): void {
    const next = parseConfig(breakerConfigSchema, config);
    const windowChanged = next.windowMs !== this.config.windowMs || next.windowBuckets !== this.config.windowBuckets;
    this.config = next;
    if (windowChanged) this.window = this.newWindow();
    if (!next.enabled && this.current.name !== "CLOSED") this.transition({ name: "CLOSED", consecutiveFailures: 0 }, "breaker disabled");
  }
}
