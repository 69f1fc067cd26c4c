/**
 * Counts over the last `windowMs`, kept in `buckets` slices so that old counts age out one slice at a time
 * (a Hystrix/resilience4j-style time-based sliding window). O(buckets) memory, O(1) amortized per record.
 */
export class RollingCounts<K extends string> {
  private readonly slices: Array<Record<K, number> & { start: number }>;
  private readonly sliceMs: number;

  constructor(
    private readonly keys: readonly K[],
    windowMs: number,
    buckets: number,
    private readonly now: () => number,
  ) {
    this.sliceMs = Math.max(1, Math.ceil(windowMs / buckets));
    this.slices = Array.from({ length: buckets }, () => this.emptySlice(Number.NEGATIVE_INFINITY));
  }

  private emptySlice(start: number): Record<K, number> & { start: number } {
    const slice = { start } as Record<K, number> & { start: number };
    for (const key of this.keys) slice[key] = 0 as never;
    return slice;
  }

  private current(): Record<K, number> {
    const t = this.now();
    const start = t - (t % this.sliceMs);
    const index = Math.floor(start / this.sliceMs) % this.slices.length;
    let slice = this.slices[index]!;
    if (slice.start !== start) {
      slice = this.emptySlice(start);
      this.slices[index] = slice;
    }
    return slice;
  }

  /** Adds `by` to `key` in the current slice. */
  add(key: K, by = 1): void {
    (this.current()[key] as number) += by;
  }

  /** Sums of every key over the slices still inside the window. */
  totals(): Record<K, number> {
    const t = this.now();
    const oldest = t - (t % this.sliceMs) - (this.slices.length - 1) * this.sliceMs;
    const sum = {} as Record<K, number>;
    for (const key of this.keys) sum[key] = 0 as never;
    for (const slice of this.slices) {
      if (slice.start < oldest) continue;
      for (const key of this.keys) (sum[key] as number) += slice[key];
    }
    return sum;
  }

  /** Forgets every count. */
  reset(): void {
    for (let i = 0; i < this.slices.length; i++) this.slices[i] = this.emptySlice(Number.NEGATIVE_INFINITY);
  }
}
