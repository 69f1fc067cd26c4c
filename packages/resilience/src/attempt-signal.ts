/**
 * The signal of one attempt: aborted when the attempt's timeout passes, when the request's deadline passes, or
 * when the caller's own signal aborts, whichever comes first, with a reason that says which.
 *
 * One AbortController and one timer per attempt, instead of `AbortSignal.any([AbortSignal.timeout(...), ...])`:
 * this runs for every subgraph call, and `AbortSignal.any` keeps its sources alive longer than needed on Node 20.
 */
import { CancelledError, DeadlineExceededError, TimeoutError, type ResilienceError } from "./errors.ts";

/** A running attempt's signal; `dispose()` when the attempt ended (clears the timer and the listener). */
export interface AttemptSignal {
  readonly signal: AbortSignal;
  /** Why the signal aborted (undefined while it has not). */
  readonly abortedBy: ResilienceError | undefined;
  dispose(): void;
}

/** See the module comment. `deadline` is a clock time in ms. */
export function attemptSignal(options: {
  timeoutMs: number;
  deadline: number;
  parent?: AbortSignal | undefined;
  now?: () => number;
}): AttemptSignal {
  const controller = new AbortController();
  let abortedBy: ResilienceError | undefined;
  const abort = (error: ResilienceError) => {
    if (abortedBy) return;
    abortedBy = error;
    controller.abort(error);
  };
  const remaining = options.deadline - (options.now ?? Date.now)();
  const byDeadline = remaining < options.timeoutMs;
  const timer = setTimeout(
    () => abort(byDeadline ? new DeadlineExceededError() : new TimeoutError(options.timeoutMs)),
    Math.max(0, byDeadline ? remaining : options.timeoutMs),
  );
  const parent = options.parent;
  const onParentAbort = () => abort(new CancelledError(parent?.reason));
  if (parent) {
    if (parent.aborted) onParentAbort();
    else parent.addEventListener("abort", onParentAbort, { once: true });
  }
  return {
    signal: controller.signal,
    get abortedBy() {
      return abortedBy;
    },
    dispose() {
      clearTimeout(timer);
      parent?.removeEventListener("abort", onParentAbort);
    },
  };
}
