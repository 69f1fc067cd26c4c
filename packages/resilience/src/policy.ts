/**
 * One dependency's policy: the overall deadline, retries, the circuit breaker, the bulkhead and the per-attempt
 * timeout, composed in that order (outermost first), as agreed for the gateway's subgraph call path:
 *
 *   deadline ─ retry ─┬─ attempt 1: breaker ─ bulkhead ─ timeout ─ fn(signal)
 *                     └─ attempt 2 (backoff, budget, deadline permitting): breaker ─ bulkhead ─ timeout ─ fn
 *
 * The breaker sits inside the retry loop, so every attempt is admitted (and counted) on its own and a retry never
 * hammers an open breaker; the bulkhead sits inside the breaker, so a call refused by an open breaker never
 * queues; the timeout is innermost, so time spent waiting for a slot is bounded by the deadline, not charged to the
 * dependency.
 *
 * No HTTP and no GraphQL here: what counts as a failure, what may be retried and what a `Retry-After` says are
 * the caller's `judge` and `judgeError` (the gateway's stage in gateway/src/fetch/resilience.ts).
 */
import { attemptSignal } from "./attempt-signal.ts";
import { CircuitBreaker, type BreakerStateName, type BreakerTransition } from "./breaker.ts";
import { Bulkhead, type BulkheadRelease } from "./bulkhead.ts";
import { parseConfig, policyConfigSchema, type PolicyConfig } from "./config.ts";
import { CancelledError, DeadlineExceededError, isResilienceError, isTimeoutError } from "./errors.ts";
import { backoffDelay, RetryBudget } from "./retry.ts";

/** What an attempt's outcome means. */
export type Verdict =
  | { readonly ok: true }
  | {
      readonly ok: false;
      /** Short reason for logs, metrics and the breaker's transition reason: `HTTP 503`, `ECONNREFUSED`... */
      readonly reason: string;
      /** Another attempt could succeed (a 503, a reset connection) as opposed to a definite answer. */
      readonly retryable: boolean;
      /**
       * Counts against the breaker.
       * @default true
       */
      readonly counts?: boolean;
      /** The dependency asked to wait this long before trying again (`Retry-After`). */
      readonly retryAfterMs?: number;
    };

/** Something the policy did, for logs and metrics. */
export type PolicyEvent =
  | { readonly type: "transition"; readonly transition: BreakerTransition }
  | { readonly type: "rejected"; readonly reason: "circuit open" | "bulkhead full" }
  | { readonly type: "timeout"; readonly timeoutMs: number }
  | { readonly type: "retry"; readonly attempt: number; readonly delayMs: number; readonly reason: string }
  | { readonly type: "retry-denied"; readonly cause: "budget" | "deadline" | "retry-after"; readonly reason: string };

/** Options of one {@link Policy.execute} call. */
export interface ExecuteOptions<T> {
  /**
   * The call may be repeated without harm (a read). Only such calls are retried.
   * @default false
   */
  retryable?: boolean;
  /**
   * Clock time (ms) by which the whole call, retries included, must be over.
   * @default no deadline (each attempt still has its timeout)
   */
  deadline?: number;
  /** The caller's signal: aborting it abandons the call (the running attempt is aborted, no retry). */
  signal?: AbortSignal | undefined;
  /** What a result means. @default every result is a success */
  judge?: (value: T) => Verdict;
  /** What an error thrown by `fn` means. @default a retryable failure that counts, reason = its message */
  judgeError?: (error: unknown) => Verdict;
  /** Called with a failed result that a retry replaces (e.g. to release its body). */
  discard?: (value: T) => void;
}

/** Options of {@link Policy}. */
export interface PolicyOptions {
  /** Every event of this policy. */
  onEvent?: (event: PolicyEvent) => void;
  /** Clock in ms. @default Date.now */
  now?: () => number;
  /** Random source of the jitter, in [0, 1). @default Math.random */
  random?: () => number;
}

const OK: Verdict = { ok: true };
const defaultJudgeError = (error: unknown): Verdict => ({
  ok: false,
  reason: error instanceof Error ? error.message : String(error),
  retryable: true,
});

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError(signal.reason));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new CancelledError(signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** See the module comment. */
export class Policy {
  readonly breaker: CircuitBreaker;
  readonly bulkhead: Bulkhead;
  private readonly budget: RetryBudget;
  private config: PolicyConfig;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(
    /** The dependency's name (for events and errors). */
    readonly name: string,
    config: unknown = {},
    private readonly options: PolicyOptions = {},
  ) {
    this.config = parseConfig(policyConfigSchema, config);
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.breaker = new CircuitBreaker(this.config.breaker, {
      now: this.now,
      onTransition: (transition) => this.emit({ type: "transition", transition }),
    });
    this.bulkhead = new Bulkhead(this.config.bulkhead);
    this.budget = new RetryBudget(this.config.retry, this.now);
  }

  /** The current settings. */
  get settings(): Readonly<PolicyConfig> {
    return this.config;
  }

  /** The breaker's state now. */
  get state(): BreakerStateName {
    return this.breaker.state;
  }

  /** Calls and retries counted by the retry budget over its window. */
  get retryBudget(): { calls: number; retries: number } {
    return this.budget.totals();
  }

  private emit(event: PolicyEvent): void {
    this.options.onEvent?.(event);
  }

  /** Replaces every setting at once (validated first: invalid settings throw and change nothing). State is kept. */
  update(config: unknown): void {
    const next = parseConfig(policyConfigSchema, config);
    this.breaker.update(next.breaker);
    this.bulkhead.update(next.bulkhead);
    this.budget.update(next.retry);
    this.config = next;
  }

  /**
   * Runs `fn` under the policy. Resolves with its result (also a failed one, once no retry is left: the caller
   * turns it into its own error). Rejects with a {@link ResilienceError} when the policy refused or abandoned the
   * call (breaker open, bulkhead full, timeout, deadline, cancelled) or with the error of the last attempt; either
   * way `breakerState` is set on resilience errors.
   */
  async execute<T>(fn: (signal: AbortSignal, attempt: number) => Promise<T>, options: ExecuteOptions<T> = {}): Promise<T> {
    const deadline = options.deadline ?? Number.POSITIVE_INFINITY;
    const judge = options.judge;
    const judgeError = options.judgeError ?? defaultJudgeError;
    this.budget.recordCall();
    try {
      for (let attempt = 1; ; attempt++) {
        if (options.signal?.aborted) throw new CancelledError(options.signal.reason);
        if (this.now() >= deadline) throw new DeadlineExceededError();

        let permit;
        try {
          permit = this.breaker.acquire();
        } catch (error) {
          this.emit({ type: "rejected", reason: "circuit open" });
          throw error;
        }
        let release: BulkheadRelease;
        try {
          const slot = this.bulkhead.acquire(options.signal, deadline, this.now);
          release = typeof slot === "function" ? slot : await slot;
        } catch (error) {
          permit.release();
          if (isResilienceError(error) && error.reason === "bulkhead full") this.emit({ type: "rejected", reason: "bulkhead full" });
          throw error;
        }

        const attemptTimeout = this.config.timeout.attemptMs;
        const running = attemptSignal({ timeoutMs: attemptTimeout, deadline, parent: options.signal, now: this.now });
        let value: T | undefined;
        let thrown: unknown;
        let verdict: Verdict;
        try {
          value = await fn(running.signal, attempt);
          verdict = judge ? judge(value) : OK;
        } catch (error) {
          // An abort of ours explains the error better than whatever the aborted operation threw.
          thrown = running.abortedBy ?? error;
          verdict = running.abortedBy
            ? isTimeoutError(running.abortedBy)
              ? { ok: false, reason: "timeout", retryable: true }
              : // Deadline or caller gone: nothing learned about the dependency, and no time left to retry.
                { ok: false, reason: running.abortedBy.reason, retryable: false, counts: false }
            : judgeError(error);
        } finally {
          running.dispose();
          release();
        }

        if (verdict.ok) {
          permit.success();
          return value as T;
        }
        if (verdict.counts === false) permit.release();
        else permit.failure(verdict.reason);
        if (isTimeoutError(thrown)) this.emit({ type: "timeout", timeoutMs: attemptTimeout });

        const delayMs = this.retryDelay(options, verdict, attempt, deadline);
        if (delayMs !== undefined) {
          if (thrown === undefined) options.discard?.(value as T);
          this.emit({ type: "retry", attempt: attempt + 1, delayMs, reason: verdict.reason });
          if (delayMs > 0) await sleep(delayMs, options.signal);
          continue;
        }
        if (thrown !== undefined) throw thrown;
        return value as T;
      }
    } catch (error) {
      if (isResilienceError(error)) error.breakerState ??= this.breaker.state;
      throw error;
    }
  }

  /** The wait before the next attempt, or undefined when there is to be none. */
  private retryDelay<T>(
    options: ExecuteOptions<T>,
    verdict: Verdict & { ok: false },
    attempt: number,
    deadline: number,
  ): number | undefined {
    const retry = this.config.retry;
    if (!options.retryable || !verdict.retryable || !retry.enabled || attempt >= retry.maxAttempts) return undefined;
    if (options.signal?.aborted) return undefined;
    if (verdict.retryAfterMs !== undefined && verdict.retryAfterMs > retry.maxRetryAfterMs) {
      this.emit({ type: "retry-denied", cause: "retry-after", reason: verdict.reason });
      return undefined;
    }
    const delayMs = Math.max(backoffDelay(retry, attempt, this.random), verdict.retryAfterMs ?? 0);
    // The wait alone would use up the time left: the caller is better served by this failure now.
    if (this.now() + delayMs >= deadline) {
      this.emit({ type: "retry-denied", cause: "deadline", reason: verdict.reason });
      return undefined;
    }
    if (!this.budget.tryRetry()) {
      this.emit({ type: "retry-denied", cause: "budget", reason: verdict.reason });
      return undefined;
    }
    return delayMs;
  }
}
