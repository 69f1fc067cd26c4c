/**
 * What the queue benchmarks (`bench:events`, `bench:saga`) share: the statistics of their tables, a bounded
 * parallel loop, the raw BullMQ round that is the baseline of their ratios (so that both compare against the same
 * thing), and the CPU time Postgres, Redis and the benchmark process spend per item.
 */
import { readFile } from "node:fs/promises";
import { Queue, Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { Pool } from "pg";

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

/** CPU time used so far, in microseconds: see {@link cpuTimes}. */
export interface CpuTimes {
  postgres: number;
  redis: number;
  bench: number;
}

// Linux's USER_HZ, the unit of /proc/<pid>/stat's utime and stime: 100 on every mainstream kernel configuration.
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU time so far of the Postgres processes serving the database of `pool` (its backends, and the server's
 * background processes: WAL writer, checkpointer...), of the Redis server (server-wide: other clients of the same
 * Redis count too), and of this process. The differences over a round, per item, show what an item costs the
 * machine. Postgres is read from /proc, so only a server on this machine is measured (NaN otherwise); a backend that
 * exits within the round takes its time with it, so keep the pool's connections open (`idleTimeoutMillis: 0`).
 */
export async function cpuTimes(pool: Pick<Pool, "query">, redis: Pick<Redis, "info">): Promise<CpuTimes> {
  const { rows } = await pool.query<{ pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() OR backend_type <> 'client backend'",
  );
  let ticks = 0;
  for (const { pid } of rows) {
    try {
      // Fields after the parenthesized command name: utime and stime are the 12th and 13th.
      const fields = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]!.split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      ticks = Number.NaN;
    }
  }
  const info = await redis.info("cpu");
  const redisSeconds = ["used_cpu_sys", "used_cpu_user"].reduce(
    (sum, key) => sum + Number(new RegExp(`^${key}:([\\d.]+)`, "m").exec(info)?.[1]),
    0,
  );
  const own = process.cpuUsage();
  return { postgres: (ticks / CLOCK_TICKS_PER_SECOND) * 1e6, redis: redisSeconds * 1e6, bench: own.user + own.system };
}

/** CPU microseconds per item between two {@link cpuTimes}. */
export const cpuPerItem = (before: CpuTimes, after: CpuTimes, items: number): CpuTimes => ({
  postgres: (after.postgres - before.postgres) / items,
  redis: (after.redis - before.redis) / items,
  bench: (after.bench - before.bench) / items,
});
