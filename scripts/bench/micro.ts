/**
 * The loop the in-process micro-benchmarks share (this package's and @ecom/auth's): every case runs `calls` times
 * per round, rounds interleave the cases in a rotating order (so no case always runs first, after GC or with a cold
 * cache), and the table shows medians. A dozen lines, so written here rather than pulling in a benchmark library
 * whose own harness (async, time-boxed) would not interleave the cases the way the team's benchmarks do.
 */
import { loadavg } from "node:os";

/** Options of {@link interleavedRounds}. */
export interface MicroBenchOptions {
  rounds: number;
  calls: number;
  /** Untimed calls of each case first. @default 5000 */
  warmup?: number;
  /** Called before each timed run of a case. */
  before?: (name: string) => void;
  /** Called after each timed run of a case. */
  after?: (name: string) => void;
}

/** Nanoseconds per call of each case, one sample per round. */
export function interleavedRounds(cases: Record<string, () => void>, options: MicroBenchOptions): Map<string, number[]> {
  const names = Object.keys(cases);
  const samples = new Map<string, number[]>(names.map((name) => [name, []]));
  for (const fn of Object.values(cases)) for (let i = 0; i < (options.warmup ?? 5000); i++) fn();
  for (let round = 0; round < options.rounds; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + round) % names.length]!;
      const fn = cases[name]!;
      options.before?.(name);
      const start = process.hrtime.bigint();
      for (let i = 0; i < options.calls; i++) fn();
      samples.get(name)!.push(Number(process.hrtime.bigint() - start) / options.calls);
      options.after?.(name);
    }
  }
  return samples;
}

/** The median (the upper middle one of an even count). */
export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The load average line printed above each table. */
export const loadLine = (loadAtStart: number): string => `load average ${loadAtStart.toFixed(1)} -> ${loadavg()[0]!.toFixed(1)}`;
