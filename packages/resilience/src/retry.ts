/**
 * Retry mechanics: the backoff between attempts and the budget that keeps retries from multiplying an outage.
 */
import type { RetryConfig } from "./config.ts";
import { RollingCounts } from "./rolling-window.ts";

/**
 * The wait before retry number `retry` (1 for the first retry): `baseDelayMs * multiplier^(retry-1)`, capped at
 * `maxDelayMs`, then with "full" jitter a uniform value in [0, that] (AWS's "full jitter": it spreads a herd of
 * clients that failed together the most, for the least total wait).
 */
export function backoffDelay(config: RetryConfig, retry: number, random: () => number = Math.random): number {
  const exponential = Math.min(config.maxDelayMs, config.baseDelayMs * config.multiplier ** Math.max(0, retry - 1));
  return config.jitter === "full" ? Math.floor(random() * exponential) : exponential;
}

/**
 * A retry budget in the manner of Finagle's and gRPC's: over the last `budgetWindowMs`, retries may be at most
 * `budgetRatio` of the calls made plus `budgetMinPerSecond` per second. When a dependency fails for everyone, the
 * retries it receives are then bounded by ~10% of the traffic instead of doubling or tripling it.
 */
export class RetryBudget {
  private counts: RollingCounts<"calls" | "retries">;
  private config: RetryConfig;

  constructor(
    config: RetryConfig,
    private readonly now: () => number,
  ) {
    this.config = config;
    this.counts = this.newCounts();
  }

  private newCounts() {
    return new RollingCounts(["calls", "retries"] as const, this.config.budgetWindowMs, 10, this.now);
  }

  /** Counts one call (its first attempt). */
  recordCall(): void {
    this.counts.add("calls");
  }

  /** True (and the retry is counted) when the budget allows one more retry now. */
  tryRetry(): boolean {
    const { calls, retries } = this.counts.totals();
    const allowed = this.config.budgetRatio * calls + (this.config.budgetMinPerSecond * this.config.budgetWindowMs) / 1000;
    if (retries + 1 > allowed) return false;
    this.counts.add("retries");
    return true;
  }

  /** Calls and retries over the window. */
  totals(): { calls: number; retries: number } {
    return this.counts.totals();
  }

  /** New settings; a changed window starts empty. */
  update(config: RetryConfig): void {
    const windowChanged = config.budgetWindowMs !== this.config.budgetWindowMs;
    this.config = config;
    if (windowChanged) this.counts = this.newCounts();
  }
}
