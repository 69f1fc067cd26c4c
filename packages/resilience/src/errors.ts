/**
 * Why a policy refused or gave up on a call. Branded classes with `is...` guards (a brand survives two copies of
 * this module in one process, where `instanceof` would not).
 */
import type { BreakerStateName } from "./breaker.ts";

/** What every error of this package carries. */
export abstract class ResilienceError extends Error {
  abstract readonly brand: string;
  /** Short, stable reason for logs, metrics and clients: `circuit open`, `timeout`... */
  abstract readonly reason: string;
  /** The breaker's state when the error was raised (set by the policy that raised it). */
  breakerState: BreakerStateName | undefined;
  /** Set on {@link ResilienceError}s only, so that {@link isResilienceError} needs no instanceof. */
  readonly resilience = true as const;
}

/** The breaker is open (or half-open with every probe slot taken): the call was not made. */
export class BrokenCircuitError extends ResilienceError {
  readonly brand = "BrokenCircuitError" as const;
  readonly reason = "circuit open";
  constructor(
    readonly state: BreakerStateName,
    /** When the breaker will let a probe through, in ms from now (0 when half-open and full). */
    readonly retryAfterMs: number,
  ) {
    super(`circuit ${state === "OPEN" ? "open" : "half-open, probe slots taken"}: retry in ${retryAfterMs} ms`);
    this.breakerState = state;
  }
}

/** Every concurrent slot and the whole queue are taken: the call was not made. */
export class BulkheadRejectedError extends ResilienceError {
  readonly brand = "BulkheadRejectedError" as const;
  readonly reason = "bulkhead full";
  constructor(
    readonly maxConcurrent: number,
    readonly maxQueue: number,
  ) {
    super(`bulkhead full: ${maxConcurrent} running, ${maxQueue} waiting`);
  }
}

/** One attempt took longer than its timeout and was aborted. */
export class TimeoutError extends ResilienceError {
  readonly brand = "TimeoutError" as const;
  readonly reason = "timeout";
  constructor(readonly timeoutMs: number) {
    super(`attempt timed out after ${timeoutMs} ms`);
  }
}

/** The overall deadline of the request passed (while waiting, backing off or during an attempt). */
export class DeadlineExceededError extends ResilienceError {
  readonly brand = "DeadlineExceededError" as const;
  readonly reason = "deadline exceeded";
  constructor() {
    super("the request's deadline passed");
  }
}

/** The caller went away (its signal aborted): the call was abandoned. */
export class CancelledError extends ResilienceError {
  readonly brand = "CancelledError" as const;
  readonly reason = "cancelled";
  constructor(cause?: unknown) {
    super("cancelled by the caller", { cause });
  }
}

const hasBrand =
  <T>(brand: string) =>
  (error: unknown): error is T =>
    (error as { brand?: unknown } | null)?.brand === brand;

/** True for any error of this package. */
export const isResilienceError = (error: unknown): error is ResilienceError =>
  (error as { resilience?: unknown } | null)?.resilience === true;
export const isBrokenCircuitError = hasBrand<BrokenCircuitError>("BrokenCircuitError");
export const isBulkheadRejectedError = hasBrand<BulkheadRejectedError>("BulkheadRejectedError");
export const isTimeoutError = hasBrand<TimeoutError>("TimeoutError");
export const isDeadlineExceededError = hasBrand<DeadlineExceededError>("DeadlineExceededError");
export const isCancelledError = hasBrand<CancelledError>("CancelledError");
