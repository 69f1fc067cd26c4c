/**
 * A bulkhead: at most `maxConcurrent` calls run at once, up to `maxQueue` more wait (first come, first served),
 * and anything beyond is rejected at once, so one slow dependency cannot take every socket and every pending
 * request of the process with it.
 */
import { bulkheadConfigSchema, parseConfig, type BulkheadConfig } from "./config.ts";
import { BulkheadRejectedError, CancelledError, DeadlineExceededError } from "./errors.ts";

interface Waiter {
  grant: () => void;
  settled: boolean;
}

/** Gives back the slot taken by {@link Bulkhead.acquire}; calling it again does nothing. */
export type BulkheadRelease = () => void;

const NOOP_RELEASE: BulkheadRelease = () => {};

/** See the module comment. */
export class Bulkhead {
  private config: BulkheadConfig;
  private running = 0;
  // A plain array with a moving head: the queue is bounded, and shift() would copy it on every grant.
  private queue: Waiter[] = [];
  private head = 0;
  /** Waiters still waiting (the queue may also hold ones that left: cancelled or past their deadline). */
  private waiting = 0;

  constructor(config: unknown = {}) {
    this.config = parseConfig(bulkheadConfigSchema, config);
  }

  /** Calls running now and calls waiting. */
  get load(): { running: number; queued: number } {
    return { running: this.running, queued: this.waiting };
  }

  /**
   * Takes a slot: at once when one is free, else after waiting in the queue. Rejects with
   * {@link BulkheadRejectedError} when the queue is full, {@link CancelledError} when `signal` aborts while
   * waiting and {@link DeadlineExceededError} when `deadline` (clock ms) passes while waiting.
   */
  acquire(
    signal?: AbortSignal,
    deadline = Number.POSITIVE_INFINITY,
    now: () => number = Date.now,
  ): Promise<BulkheadRelease> | BulkheadRelease {
    if (!this.config.enabled) return NOOP_RELEASE;
    if (this.running < this.config.maxConcurrent && this.waiting === 0) {
      this.running++;
      return this.releaser();
    }
    if (this.waiting >= this.config.maxQueue) throw new BulkheadRejectedError(this.config.maxConcurrent, this.config.maxQueue);
    if (signal?.aborted) throw new CancelledError(signal.reason);
    return new Promise<BulkheadRelease>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const cleanup = () => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      const waiter: Waiter = {
        settled: false,
        grant: () => {
          cleanup();
          resolve(this.releaser());
        },
      };
      const leave = (error: Error) => {
        if (waiter.settled) return;
        waiter.settled = true;
        this.waiting--;
        cleanup();
        reject(error);
      };
      const onAbort = () => leave(new CancelledError(signal?.reason));
      signal?.addEventListener("abort", onAbort, { once: true });
      if (Number.isFinite(deadline)) timer = setTimeout(() => leave(new DeadlineExceededError()), Math.max(0, deadline - now()));
      this.queue.push(waiter);
      this.waiting++;
    });
  }

  private releaser(): BulkheadRelease {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      this.drain();
    };
  }

  private drain(): void {
    while (this.running < this.config.maxConcurrent && this.head < this.queue.length) {
      const waiter = this.queue[this.head++]!;
      if (waiter.settled) continue;
      waiter.settled = true;
      this.waiting--;
      this.running++;
      waiter.grant();
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** New limits (validated); a higher `maxConcurrent` lets waiting calls in at once. */
  update(config: unknown): void {
    this.config = parseConfig(bulkheadConfigSchema, config);
    if (!this.config.enabled) {
      // Switched off: everyone waiting goes now.
      while (this.head < this.queue.length) {
        const waiter = this.queue[this.head++]!;
        if (!waiter.settled) {
          waiter.settled = true;
          this.waiting--;
          this.running++;
          waiter.grant();
        }
      }
      return;
    }
    this.drain();
  }
}
