/**
 * What the queue benchmarks (`bench:events`, `bench:saga`) share: the statistics of their tables, a bounded
 * parallel loop, and the raw BullMQ round that is the baseline of their ratios, so that both compare against
 * the same thing.
 */
import { Queue, Worker } from "bullmq";

// The gateway benchmark's median (report.ts), so that every benchmark's medians are the same computation.
export { median } from "./report.ts";

/** The `p`th percentile of `xs` (nearest rank; NaN when empty). */
export const percentile = (xs: readonly number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

/** Runs `work(i)` for i in 0..n-1 with `parallel` loops. */
export async function inParallel(n: number, parallel: number, work: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let i = next++; i < n; i = next++) await work(i);
    }),
  );
}

/** Options of {@link rawBullmqRound}. */
export interface RawRoundOptions {
  redisUrl: string;
  /** BullMQ key prefix of the round (its keys are obliterated afterwards). */
  prefix: string;
  /** Jobs in the round. */
  jobs: number;
  /** Loops adding one job at a time with `queue.add`. */
  producers: number;
  /** The no-op worker's concurrency. */
  concurrency: number;
}

/**
 * The baseline: `producers` loops `queue.add` one job each, a worker with `concurrency` completes them with a
 * no-op. Resolves with jobs per second from the first add to the last completion.
 */
export async function rawBullmqRound(options: RawRoundOptions): Promise<number> {
  const { prefix, jobs } = options;
  const connection = { url: options.redisUrl };
  const queue = new Queue("bench-raw", { connection, prefix });
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const worker = new Worker("bench-raw", async () => undefined, {
    connection: { ...connection, maxRetriesPerRequest: null },
    prefix,
    concurrency: options.concurrency,
  });
  worker.on("completed", () => ++done === jobs && finish());
  await worker.waitUntilReady();
  const started = performance.now();
  await inParallel(jobs, options.producers, (i) => queue.add("job", { i }, { removeOnComplete: true }));
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return jobs / seconds;
}
