/**
 * In-flight deduplication: callers asking for the same key while a call for it is running share that call's
 * result instead of making their own. Nothing is kept once the call ends (this is not a cache).
 *
 * The key decides who may share: the caller must build it from everything the answer depends on (in the
 * gateway: the URL, the body and every header that names the caller, so that one user never receives another
 * user's answer). Each waiter gets its own copy of the result (`share`), because results such as HTTP responses
 * can be read only once.
 *
 * Cancellation is shared fairly: a waiter whose signal aborts stops waiting at once, and the shared call itself is
 * aborted only when every waiter has gone, so one client disconnecting never fails the others.
 */
import { CancelledError } from "./errors.ts";

interface Entry<T> {
  promise: Promise<T>;
  controller: AbortController;
  waiters: number;
}

/** Options of one {@link InflightDedup.run}. */
export interface DedupRunOptions<T> {
  /** This caller's signal: aborting it makes this caller stop waiting (rejects with {@link CancelledError}). */
  signal?: AbortSignal | undefined;
  /** A copy of the result for one waiter (every waiter, the first included, gets its own). */
  share: (value: T) => T;
}

/** See the module comment. */
export class InflightDedup<T> {
  private readonly inflight = new Map<string, Entry<T>>();

  /** Calls running now. */
  get size(): number {
    return this.inflight.size;
  }

  /**
   * Runs `fn(signal)` for `key`, or joins the run already in flight for it. `joined` tells which (for metrics).
   */
  run(key: string, fn: (signal: AbortSignal) => Promise<T>, options: DedupRunOptions<T>): { joined: boolean; result: Promise<T> } {
    let entry = this.inflight.get(key);
    const joined = entry !== undefined;
    if (!entry) {
      const controller = new AbortController();
      const created: Entry<T> = { controller, waiters: 0, promise: undefined as unknown as Promise<T> };
      created.promise = (async () => {
        try {
          return await fn(controller.signal);
        } finally {
          if (this.inflight.get(key) === created) this.inflight.delete(key);
        }
      })();
      // Every waiter may have left before it settles: its rejection must not become an unhandled one.
      created.promise.catch(() => {});
      this.inflight.set(key, created);
      entry = created;
    }
    entry.waiters++;
    return { joined, result: this.wait(key, entry, options) };
  }

  private wait(key: string, entry: Entry<T>, { signal, share }: DedupRunOptions<T>): Promise<T> {
    if (!signal) return entry.promise.then(share);
    return new Promise<T>((resolve, reject) => {
      const leave = () => {
        entry.waiters--;
        if (entry.waiters > 0) return;
        if (this.inflight.get(key) === entry) this.inflight.delete(key);
        entry.controller.abort(new CancelledError(signal.reason));
      };
      if (signal.aborted) {
        leave();
        reject(new CancelledError(signal.reason));
        return;
      }
      const onAbort = () => {
        leave();
        reject(new CancelledError(signal.reason));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      entry.promise.then(
        (value) => {
          signal.removeEventListener("abort", onAbort);
          if (signal.aborted) return;
          try {
            resolve(share(value));
          } catch (error) {
            reject(error as Error);
          }
        },
        (error: unknown) => {
          signal.removeEventListener("abort", onAbort);
          reject(error as Error);
        },
      );
    });
  }
}
