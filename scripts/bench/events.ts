/**
 * `npm run bench:events [-- --quick] [--events N] [--rounds R]`: events per second through the outbox, the relay and
 * a consumer, next to raw BullMQ jobs per second on the same Redis, in the same run.
 *
 * - raw BullMQ: 8 producers `queue.add` one job each, a worker (concurrency 8) completes them with a no-op.
 * - events: the same 8 producers commit one transaction each (an outbox row, as a service's state change would),
 *   the relay sends them (adaptive polling, batches of what is committed), a consumer applies them (inbox row + one
 *   effect row each; the jobs waiting share a transaction). The relay and the consumer run with the defaults a
 *   worker process runs with (the consumer: WORKER_CONCURRENCY transactions of up to EVENTS_BATCH_SIZE messages).
 * - producers alone: the same commits with no relay or consumer running, the bound the producers' own durable
 *   commits put on the pipeline.
 * Rounds alternate raw / events / producers (the machine is shared and noisy); the table shows medians, the ratio
 * and the p50/p99 end-to-end lag (commit to effect). The transactions here go through `pgDatabase` (plain pg); services
 * run the same SQL through Prisma's interactive transactions, which add a little per transaction.
 *
 * Needs Postgres (POSTGRES_ADMIN_URL, a scratch database is created and dropped) and Redis (REDIS_URL).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import pg from "pg";
import { z } from "@ecom/config";
import { createLogger, createMetrics } from "@ecom/observability";
import { formatPgUrl, parsePgUrl, quoteIdent, withPgClient } from "@ecom/db";
import {
  consumerSizing,
  createConsumer,
  createOutbox,
  createOutboxRelay,
  EVENT_TABLES_SQL,
  eventQueueName,
  pgDatabase,
  type Message,
  type PgTransaction,
  workerEnvShape,
} from "@ecom/events";
import { cpuPerItem, cpuTimes, inParallel, median, percentile, rawBullmqRound, type CpuTimes } from "./rounds.ts";

const { values } = parseArgs({
  options: { quick: { type: "boolean", default: false }, events: { type: "string" }, rounds: { type: "string" } },
});
const N = Number(values.events ?? (values.quick ? 300 : 3000));
const ROUNDS = Number(values.rounds ?? (values.quick ? 2 : 5));
const PRODUCERS = 8;
/** The raw worker's concurrency (jobs in hand). */
const CONCURRENCY = 8;
// The consumer is sized as a worker process sizes it by default (WORKER_CONCURRENCY transactions at once, each of
// up to EVENTS_BATCH_SIZE messages), read from the worker's own env schema.
const workerDefaults = z.object(workerEnvShape("search")).parse({});
const SIZING = consumerSizing(workerDefaults.WORKER_CONCURRENCY, workerDefaults.EVENTS_BATCH_SIZE);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(", ");
const adminUrl = process.env["POSTGRES_ADMIN_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres";
const redisUrl = process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379/0";
const logger = createLogger({ service: "bench-events", level: "silent" });
const say = (line: string) => process.stdout.write(`${line}\n`);

const rawRound = (prefix: string) => rawBullmqRound({ redisUrl, prefix, jobs: N, producers: PRODUCERS, concurrency: CONCURRENCY });

/** One committed transaction per event, as the producers of an events round write them. */
const produce = (db: ReturnType<typeof pgDatabase>, outbox: ReturnType<typeof createOutbox>) =>
  inParallel(N, PRODUCERS, (i) =>
    db.$transaction(async (tx) => {
      const productId = randomUUID();
      await outbox.write(tx, {
        type: "stock.changed.v1",
        aggregateId: productId,
        payload: { productId, onHand: i, reserved: 0, available: i, delta: 1, reason: "restock" },
      });
    }),
  );

/**
 * The producers alone (no relay, no consumer): their own commits, one per event, bound what the pipeline can
 * carry on this machine whatever the relay and the consumer do.
 */
async function producersRound(pool: pg.Pool): Promise<number> {
  await pool.query("TRUNCATE outbox, outbox_streams, inbox, effects");
  const started = performance.now();
  await produce(pgDatabase(pool), createOutbox({ producer: "products" }));
  return N / ((performance.now() - started) / 1000);
}

async function eventsRound(pool: pg.Pool, redis: Redis, prefix: string): Promise<{ rate: number; lags: number[]; drainMs: number }> {
  await pool.query("TRUNCATE outbox, outbox_streams, inbox, effects");
  const registry = createMetrics({ service: "bench", defaultMetrics: false }).registry;
  const outbox = createOutbox({ producer: "products" });
  const db = pgDatabase(pool);
  const lags: number[] = [];
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const apply = async (message: Message, tx: PgTransaction) => {
    await tx.client.query("INSERT INTO effects (message_id) VALUES ($1)", [message.id]);
  };
  const consumer = createConsumer({
    queue: eventQueueName("search"),
    db,
    handlers: { "product.created.v1": apply, "product.updated.v1": apply, "stock.changed.v1": apply },
    connection: { url: redisUrl },
    prefix,
    logger,
    registry,
    ...SIZING,
  });
  consumer.worker.on("completed", (job) => {
    lags.push(Date.now() - Date.parse((job.data as Message).occurredAt));
    if (++done === N) finish();
  });
  const relay = createOutboxRelay({
    producer: "products",
    pool,
    connection: redis,
    prefix,
    logger,
    registry,
  });
  await consumer.ready();
  await relay.start();
  const started = performance.now();
  await produce(db, outbox);
  const produced = performance.now();
  await finished;
  const seconds = (performance.now() - started) / 1000;
  const drainMs = performance.now() - produced;
  await relay.stop();
  await consumer.close();
  const q = new Queue(eventQueueName("search"), { connection: redis, prefix });
  const inventory = new Queue(eventQueueName("inventory"), { connection: redis, prefix });
  await q.obliterate({ force: true });
  await inventory.obliterate({ force: true }).catch(() => {});
  await q.close();
  await inventory.close();
  return { rate: N / seconds, lags, drainMs };
}

async function main() {
  const admin = parsePgUrl(adminUrl);
  const name = `ecom_bench_events_${randomBytes(3).toString("hex")}`;
  await withPgClient(admin, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
  const pool = new pg.Pool({
    ...parsePgUrl(formatPgUrl({ ...admin, database: name })),
    max: PRODUCERS + SIZING.transactions + 4,
    // Connections stay open for the whole run: a backend that exited would take its CPU time out of cpuTimes.
    idleTimeoutMillis: 0,
  });
  pool.on("error", () => {});
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  try {
    await pool.query(EVENT_TABLES_SQL);
    await pool.query("CREATE TABLE effects (message_id uuid PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())");
    say(
      `bench:events: ${N} events per round, ${ROUNDS} rounds of each (interleaved), ${PRODUCERS} producers; raw worker concurrency ${CONCURRENCY}; ` +
        `consumer ${SIZING.transactions} transactions at once of up to ${SIZING.batchSize} messages (${SIZING.concurrency} jobs in hand); load average ${load()}`,
    );
    const raw: number[] = [];
    const producers: number[] = [];
    const events: number[] = [];
    const lags: number[] = [];
    const drains: number[] = [];
    const cpu = { raw: [] as CpuTimes[], events: [] as CpuTimes[], producers: [] as CpuTimes[] };
    /** Runs `round` and adds its CPU time per event to `into`. */
    const metered = async <T>(into: CpuTimes[], round: () => Promise<T>): Promise<T> => {
      const before = await cpuTimes(pool, redis);
      const result = await round();
      into.push(cpuPerItem(before, await cpuTimes(pool, redis), N));
      return result;
    };
    for (let r = 1; r <= ROUNDS; r++) {
      const prefix = `bench${randomBytes(3).toString("hex")}`;
      raw.push(await metered(cpu.raw, () => rawRound(prefix)));
      const round = await metered(cpu.events, () => eventsRound(pool, redis, prefix));
      events.push(round.rate);
      lags.push(...round.lags);
      drains.push(round.drainMs);
      producers.push(await metered(cpu.producers, () => producersRound(pool)));
      say(
        `  round ${r}/${ROUNDS}: raw BullMQ ${raw.at(-1)!.toFixed(0)} jobs/s, outbox -> relay -> consumer ${round.rate.toFixed(0)} events/s (last one applied ${round.drainMs.toFixed(0)} ms after the last commit), producers alone ${producers.at(-1)!.toFixed(0)} commits/s`,
      );
    }
    const ratio = median(events) / median(raw);
    const cpuCells = (xs: CpuTimes[]) => {
      const [p, r, b] = (["postgres", "redis", "bench"] as const).map((k) => median(xs.map((x) => x[k])));
      return `${p!.toFixed(0).padStart(8)} | ${r!.toFixed(0).padStart(5)} | ${b!.toFixed(0).padStart(5)} | ${(p! + r! + b!).toFixed(0).padStart(5)} |`;
    };
    say("");
    say(
      "| pipeline                                     | per second (median) | p50 lag | p99 lag | CPU µs per item: Postgres | Redis | bench | total |",
    );
    say(
      "| -------------------------------------------- | ------------------- | ------- | ------- | ------------------------: | ----: | ----: | ----: |",
    );
    say(
      `| raw BullMQ (add -> no-op worker)             | ${median(raw).toFixed(0).padStart(19)} |       - |       - |         ${cpuCells(cpu.raw)}`,
    );
    say(
      `| outbox -> relay -> consumer (inbox + effect) | ${median(events).toFixed(0).padStart(19)} | ${`${percentile(lags, 50).toFixed(0)} ms`.padStart(7)} | ${`${percentile(lags, 99).toFixed(0)} ms`.padStart(7)} |         ${cpuCells(cpu.events)}`,
    );
    say(
      `| producers alone (one commit per event)       | ${median(producers).toFixed(0).padStart(19)} |       - |       - |         ${cpuCells(cpu.producers)}`,
    );
    say("");
    say("CPU per item: medians of the rounds; Redis's is server-wide (other clients of the same Redis count too); bench = this process.");
    say(
      `producers alone / raw: ${(median(producers) / median(raw)).toFixed(2)} (the pipeline cannot carry more than its producers commit)`,
    );
    say(
      `pipeline / producers alone: ${(median(events) / median(producers)).toFixed(2)}; the last event applied ${median(drains).toFixed(0)} ms (median) after the last commit`,
    );
    say(`ratio events/raw: ${ratio.toFixed(2)} (target >= 0.33: ${ratio >= 1 / 3 ? "met" : "NOT met"})`);
    say(`load average at the end: ${load()} (1, 5, 15 min)`);
  } finally {
    redis.disconnect();
    await pool.end().catch(() => {});
    await withPgClient(admin, (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench:events failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
