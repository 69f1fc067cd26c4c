import { describe, expect, it, vi } from "vitest";
import { InflightDedup, isCancelledError } from "../src/index.ts";

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const share = (value: { n: number }) => ({ ...value });

describe("InflightDedup", () => {
  it("runs one call for identical keys in flight, and gives every waiter its own copy", async () => {
    const dedup = new InflightDedup<{ n: number }>();
    const gate = deferred<{ n: number }>();
    const fn = vi.fn(() => gate.promise);
    const a = dedup.run("k", fn, { share });
    const b = dedup.run("k", fn, { share });
    expect([a.joined, b.joined]).toEqual([false, true]);
    gate.resolve({ n: 1 });
    const [ra, rb] = await Promise.all([a.result, b.result]);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(ra).toEqual({ n: 1 });
    expect(rb).toEqual({ n: 1 });
    expect(ra).not.toBe(rb);
  });

  it("never shares between different keys, and keeps nothing once the call ended (not a cache)", async () => {
    const dedup = new InflightDedup<{ n: number }>();
    let n = 0;
    const fn = vi.fn(async () => ({ n: ++n }));
    const [x, y] = await Promise.all([dedup.run("user-1", fn, { share }).result, dedup.run("user-2", fn, { share }).result]);
    expect([x.n, y.n].sort()).toEqual([1, 2]);
    expect(dedup.size).toBe(0);
    expect((await dedup.run("user-1", fn, { share }).result).n).toBe(3);
  });

  it("gives every waiter the call's error", async () => {
    const dedup = new InflightDedup<{ n: number }>();
    const gate = deferred<{ n: number }>();
    const a = dedup.run("k", () => gate.promise, { share });
    const b = dedup.run("k", () => gate.promise, { share });
    gate.reject(new Error("ECONNREFUSED"));
    await expect(a.result).rejects.toThrow("ECONNREFUSED");
    await expect(b.result).rejects.toThrow("ECONNREFUSED");
  });

  it("lets a waiter that goes away leave alone, and aborts the shared call only when every waiter has gone", async () => {
    const dedup = new InflightDedup<{ n: number }>();
    let shared: AbortSignal | undefined;
    const gate = deferred<{ n: number }>();
    const fn = (signal: AbortSignal) => {
      shared = signal;
      return gate.promise;
    };
    const first = new AbortController();
    const second = new AbortController();
    const a = dedup.run("k", fn, { share, signal: first.signal });
    const b = dedup.run("k", fn, { share, signal: second.signal });
    first.abort();
    await expect(a.result).rejects.toSatisfy(isCancelledError);
    expect(shared!.aborted).toBe(false);
    gate.resolve({ n: 7 });
    expect(await b.result).toEqual({ n: 7 });

    const gate2 = deferred<{ n: number }>();
    const third = new AbortController();
    const c = dedup.run("k2", (signal) => ((shared = signal), gate2.promise), { share, signal: third.signal });
    third.abort();
    await expect(c.result).rejects.toSatisfy(isCancelledError);
    expect(shared!.aborted).toBe(true);
    // The abandoned call is out of the map: a new caller starts afresh instead of joining a call being aborted.
    expect(dedup.size).toBe(0);
    gate2.reject(new Error("aborted"));
  });
});
