import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Bulkhead, isBulkheadRejectedError, isCancelledError, isDeadlineExceededError, type BulkheadRelease } from "../src/index.ts";

const take = async (b: Bulkhead, signal?: AbortSignal, deadline?: number): Promise<BulkheadRelease> => b.acquire(signal, deadline);

describe("Bulkhead", () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it("grants slots first come, first served", async () => {
    const b = new Bulkhead({ maxConcurrent: 1, maxQueue: 5 });
    const order: number[] = [];
    const first = await take(b);
    const waiting = [1, 2, 3].map((i) => take(b).then((release) => (order.push(i), release)));
    first();
    (await waiting[0]!)();
    (await waiting[1]!)();
    (await waiting[2]!)();
    expect(order).toEqual([1, 2, 3]);
    expect(b.load).toEqual({ running: 0, queued: 0 });
  });

  it("rejects at once when the queue is full; a waiter that left frees its queue place", async () => {
    const b = new Bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const release = await take(b);
    const leaving = new AbortController();
    const waiter = take(b, leaving.signal);
    expect(() => b.acquire()).toThrow(expect.objectContaining({ reason: "bulkhead full" }));
    leaving.abort();
    await expect(waiter).rejects.toSatisfy(isCancelledError);
    const next = take(b);
    expect(b.load).toEqual({ running: 1, queued: 1 });
    release();
    (await next)();
    expect(b.load).toEqual({ running: 0, queued: 0 });
    expect(isBulkheadRejectedError(new Error("x"))).toBe(false);
  });

  it("gives up waiting at the deadline", async () => {
    const b = new Bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    await take(b);
    const waiter = take(b, undefined, 250).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(250);
    expect(isDeadlineExceededError(await waiter)).toBe(true);
    expect(b.load.queued).toBe(0);
  });

  it("lets waiters in when update() raises maxConcurrent; a release twice frees one slot", async () => {
    const b = new Bulkhead({ maxConcurrent: 1, maxQueue: 5 });
    const release = await take(b);
    const waiter = take(b);
    b.update({ maxConcurrent: 2, maxQueue: 5 });
    await waiter;
    expect(b.load).toEqual({ running: 2, queued: 0 });
    release();
    release();
    expect(b.load.running).toBe(1);
  });
});
