/**
 * `npm run bench:saga [-- --quick] [--checkouts N] [--rounds R] [--profile DIR]`: checkouts per second end to end (placeOrder's
 * transaction -> reserve -> charge -> confirm -> order CONFIRMED, through the outbox relays, BullMQ and the orders,
 * inventory and payments worker processes) next to raw BullMQ jobs per second on the same Redis in the same run,
 * the ratio (target >= 1/8: a checkout is six jobs, three commands and three replies, besides its events), and the
 * p50/p99 time from placeOrder's commit to CONFIRMED (from the database's own timestamps: no polling error).
 *
 * Rounds alternate raw / saga (the machine is shared and noisy) and the table shows medians. Orders are placed
 * in-process through the orders subgraph's repository (the transaction placeOrder runs), 8 at a time; pricing
 * through the products subgraph is not part of what is measured.
 *
 * What a checkout costs is printed too, per checkout and per process (medians of the saga rounds): CPU ms of the
 * bench (placeOrder's transaction), each worker and the Postgres backends serving the three databases (from /proc),
 * SQL statements each sent (their `db_statements_total`), and commits (pg_stat_database, less the bench's own
 * progress polls). `--profile DIR` runs the workers under `node --cpu-prof` and prints each one's top functions.
 *
 * Needs Postgres (POSTGRES_ADMIN_URL; databases `<db-prefix>_<service>`, default `ecom_bench_saga_*`, are created once
 * and reused) and Redis (REDIS_URL).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import { bootstrapDatabases, databaseUrlFor, discoverServiceDatabases, parsePgUrl } from "@ecom/db";
import { createLogger, createMetrics } from "@ecom/observability";
import { getFreePort } from "@ecom/testing";
import { OrdersRepository } from "../../subgraphs/orders/src/datasources/orders.ts";
import { createDatabase } from "../../subgraphs/orders/src/datasources/prisma.ts";
import { createCheckout, startCheckoutOnCreate } from "../../subgraphs/orders/src/saga/checkout.ts";
import { treeCpuSeconds } from "./cpu.ts";
import { startBenchProcess, type BenchProcess } from "./processes.ts";
import { inParallel, median, percentile, rawBullmqRound } from "./rounds.ts";
import { summarizeProfile, type CpuProfile } from "./profile.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    checkouts: { type: "string" },
    rounds: { type: "string" },
    "db-prefix": { type: "string", default: "ecom_bench_saga" },
    profile: { type: "string" },
  },
});
const N = Number(values.checkouts ?? (values.quick ? 40 : 300));
const ROUNDS = Number(values.rounds ?? (values.quick ? 1 : 5));
const PLACERS = 8;
const CONCURRENCY = 8;
const PREFIX = values["db-prefix"];
if (!/^[a-z][a-z0-9_]{0,40}$/.test(PREFIX)) throw new Error("--db-prefix must be lower-case letters, digits and underscores");
const SERVICES = ["orders", "inventory", "payments"] as const;
const adminUrl = process.env["POSTGRES_ADMIN_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres";
const redisUrl = process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379/0";
const say = (line: string) => process.stdout.write(`${line}\n`);

const rawRound = (prefix: string) => rawBullmqRound({ redisUrl, prefix, jobs: N, producers: PLACERS, concurrency: CONCURRENCY });

const PROFILE_DIR = values.profile ? path.resolve(values.profile) : undefined;

/** The workers' CPU profiles (`--profile`): the main thread's (the largest) of each, and its top functions. */
function printProfiles(dir: string) {
  for (const worker of readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory())) {
    const files = readdirSync(path.join(dir, worker.name))
      .filter((f) => f.endsWith(".cpuprofile"))
      .map((f) => path.join(dir, worker.name, f));
    const largest = files.sort((a, b) => statSync(b).size - statSync(a).size)[0];
    if (!largest) continue;
    say(`\nCPU profile of the ${worker.name} (${largest}):`);
    say(summarizeProfile(JSON.parse(readFileSync(largest, "utf8")) as CpuProfile, { top: 25 }));
  }
}

/** Running totals of what the run spent: CPU seconds and SQL statements per process, commits of the databases. */
interface CostSample {
  cpu: Map<string, number>;
  statements: Map<string, number>;
  commits: number;
}

/** What a worker process reports on /metrics: the statements it sent to its database so far. */
async function statementsOf(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const match = /^db_statements_total(?:\{[^}]*\})? (\d+)/m.exec(text);
  return match ? Number(match[1]) : Number.NaN;
}

/**
 * CPU seconds of the Postgres backends connected to `databases` (by pid, from /proc). A backend that exits between
 * two samples takes its time with it: the pools keep their connections through a round, so little is lost.
 */
async function backendCpu(admin: pg.Pool, databases: string[]): Promise<Map<number, number>> {
  const { rows } = await admin.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = ANY($1::text[])", [databases]);
  return new Map(rows.map((r) => [r.pid, treeCpuSeconds(r.pid)]));
}

/** Per checkout: the difference of two samples divided by `checkouts` (CPU in ms). */
function perCheckout(before: CostSample, after: CostSample, checkouts: number) {
  const diff = (a: Map<string, number>, b: Map<string, number>, scale: number) =>
    new Map([...b].map(([k, v]) => [k, ((v - (a.get(k) ?? 0)) * scale) / checkouts]));
  return {
    cpuMs: diff(before.cpu, after.cpu, 1000),
    statements: diff(before.statements, after.statements, 1),
    commits: (after.commits - before.commits) / checkouts,
  };
}

async function waitReady(proc: BenchProcess, port: number) {
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited before it was ready:\n${proc.output().slice(-4000)}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${proc.name} not ready within 180 s:\n${proc.output().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main() {
  const urlFor = (service: string) =>
    databaseUrlFor(service, { prefix: PREFIX, host: parsePgUrl(adminUrl).host, port: parsePgUrl(adminUrl).port });
  say(`bench:saga: preparing databases ${PREFIX}_{${SERVICES.join(",")}} (created and migrated once, then reused)`);
  await bootstrapDatabases({
    adminUrl,
    services: discoverServiceDatabases(ROOT).filter((s) => (SERVICES as readonly string[]).includes(s.name)),
    urlFor,
    onProgress: (line) => say(`  ${line}`),
  });
  const queuePrefix = `benchsaga${randomBytes(3).toString("hex")}`;
  const workers: BenchProcess[] = [];
  const workerPorts = new Map<string, number>();
  const inventory = new pg.Pool({ ...parsePgUrl(urlFor("inventory")), max: 2 });
  inventory.on("error", () => {});
  // The bench's own statements are placeOrder's; its progress polls go through a pool of their own.
  let placeStatements = 0;
  const orders = createDatabase(urlFor("orders"), { applicationName: "bench-saga", max: PLACERS + 2, onQuery: () => placeStatements++ });
  const progress = new pg.Pool({ ...parsePgUrl(urlFor("orders")), max: 1 });
  progress.on("error", () => {});
  const admin = new pg.Pool({ ...parsePgUrl(adminUrl), max: 1 });
  admin.on("error", () => {});
  const databases = SERVICES.map((s) => parsePgUrl(urlFor(s)).database!);
  if (PROFILE_DIR) rmSync(PROFILE_DIR, { recursive: true, force: true });
  try {
    for (const service of SERVICES) {
      const workerPort = await getFreePort();
      // A directory per worker: tsx's module loader thread writes a profile of its own beside the main thread's.
      const profile = PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${path.join(PROFILE_DIR, `${service}-worker`)}`] : [];
      const proc = startBenchProcess(`${service} worker`, process.execPath, [...profile, "--import", "tsx", "src/worker.ts"], {
        cwd: path.join(ROOT, "subgraphs", service),
        env: {
          ...process.env,
          NODE_ENV: "test",
          LOG_LEVEL: "warn",
          HOST: "127.0.0.1",
          PORT: String(workerPort),
          DATABASE_URL: urlFor(service),
          REDIS_URL: redisUrl,
          QUEUE_PREFIX: queuePrefix,
          WORKER_CONCURRENCY: String(CONCURRENCY),
          RELAY_POLL_INTERVAL: "200ms",
        },
      });
      workers.push(proc);
      workerPorts.set(proc.name, workerPort);
      await waitReady(proc, workerPort);
      say(`  ${service} worker ready`);
    }
    const logger = createLogger({ service: "bench-saga", level: "silent" });
    const checkout = createCheckout(
      { stepTimeoutMs: 120_000, reservationTtlMs: 900_000, compensationTimeoutMs: 5000 },
      { logger, registry: createMetrics({ service: "bench-saga", defaultMetrics: false }).registry },
    );
    const repo = new OrdersRepository(orders.prisma, startCheckoutOnCreate(checkout));
    const productIds = Array.from({ length: 20 }, () => randomUUID());
    await inventory.query(
      "INSERT INTO stock_items (product_id, on_hand, reserved, version, updated_at) SELECT unnest($1::uuid[]), 1000000, 0, 0, now()",
      [productIds],
    );
    const buyerId = randomUUID();

    let polls = 0;
    const BENCH = "bench (placeOrder)";
    const POSTGRES = "postgres backends";
    // Postgres: each backend's time since the last sample (a new backend counts from its start), summed up.
    let backendsBefore = new Map<number, number>();
    let postgresSeconds = 0;
    async function sample(): Promise<CostSample> {
      const own = process.cpuUsage();
      const cpu = new Map<string, number>([[BENCH, (own.user + own.system) / 1e6]]);
      const statements = new Map<string, number>([[BENCH, placeStatements]]);
      for (const worker of workers) {
        cpu.set(worker.name, treeCpuSeconds(worker.child.pid!));
        statements.set(worker.name, await statementsOf(workerPorts.get(worker.name)!));
      }
      const backends = await backendCpu(admin, databases);
      for (const [pid, seconds] of backends) postgresSeconds += seconds - (backendsBefore.get(pid) ?? 0);
      backendsBefore = backends;
      cpu.set(POSTGRES, postgresSeconds);
      const { rows } = await admin.query<{ commits: number }>(
        "SELECT sum(xact_commit)::float8 AS commits FROM pg_stat_database WHERE datname = ANY($1::text[])",
        [databases],
      );
      // The progress polls are the bench's, not the checkouts'.
      return { cpu, statements, commits: rows[0]!.commits - polls };
    }

    async function sagaRound(round: number): Promise<{ rate: number; latencies: number[]; cost: ReturnType<typeof perCheckout> }> {
      const ids: string[] = [];
      // Statistics reach pg_stat_database within a second of a transaction: settle before the first sample.
      await new Promise((r) => setTimeout(r, 1200));
      const before = await sample();
      const started = performance.now();
      await inParallel(N, PLACERS, async (i) => {
        const item = { productId: productIds[i % productIds.length]!, quantity: 1, unitAmount: 1999, currency: "USD" };
        const result = await repo.create({
          buyerId,
          idempotencyKey: `bench-${round}-${i}-${randomBytes(4).toString("hex")}`,
          requestHash: "0".repeat(64),
          paymentToken: "tok_visa",
          currency: "USD",
          totalAmount: 1999,
          items: [item],
        });
        if (result.created) ids.push(result.order.id);
      });
      for (;;) {
        polls += 1;
        const { rows } = await progress.query<{ n: number; bad: number }>(
          "SELECT count(*) FILTER (WHERE status = 'PENDING')::int AS n, count(*) FILTER (WHERE status = 'CANCELLED')::int AS bad FROM orders WHERE id = ANY($1::uuid[])",
          [ids],
        );
        if (rows[0]!.bad > 0) throw new Error(`${rows[0]!.bad} checkouts were cancelled: see the workers' logs`);
        if (rows[0]!.n === 0) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      const seconds = (performance.now() - started) / 1000;
      await new Promise((r) => setTimeout(r, 1200));
      const cost = perCheckout(before, await sample(), ids.length);
      const { rows } = await progress.query<{ ms: number }>(
        `SELECT (extract(epoch FROM e.at - o.created_at) * 1000)::float8 AS ms
         FROM orders o JOIN order_events e ON e.order_id = o.id AND e.step = 'order' AND e.status = 'CONFIRMED'
         WHERE o.id = ANY($1::uuid[])`,
        [ids],
      );
      return { rate: ids.length / seconds, latencies: rows.map((r) => r.ms), cost };
    }

    say(
      `bench:saga: ${N} checkouts per round, ${ROUNDS} rounds of each (interleaved), ${PLACERS} placers, worker concurrency ${CONCURRENCY}`,
    );
    const raw: number[] = [];
    const sagas: number[] = [];
    const latencies: number[] = [];
    const costs: Array<ReturnType<typeof perCheckout>> = [];
    const load = () =>
      os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(" ");
    say(`  load average before: ${load()}`);
    for (let r = 1; r <= ROUNDS; r++) {
      const first = r % 2 === 1 ? "raw" : "saga";
      for (const kind of first === "raw" ? ["raw", "saga"] : ["saga", "raw"]) {
        if (kind === "raw") raw.push(await rawRound(`benchraw${randomBytes(3).toString("hex")}`));
        else {
          const round = await sagaRound(r);
          sagas.push(round.rate);
          latencies.push(...round.latencies);
          costs.push(round.cost);
        }
      }
      say(
        `  round ${r}/${ROUNDS}: raw BullMQ ${raw.at(-1)!.toFixed(0)} jobs/s, checkout saga ${sagas.at(-1)!.toFixed(1)} checkouts/s (load ${load()})`,
      );
    }
    const ratio = median(sagas) / median(raw);
    say("");
    say(
      "| pipeline                                            | per second (median) | p50 placeOrder -> CONFIRMED | p99 placeOrder -> CONFIRMED |",
    );
    say(
      "| --------------------------------------------------- | ------------------- | --------------------------- | --------------------------- |",
    );
    say(
      `| raw BullMQ (add -> no-op worker), jobs               | ${median(raw).toFixed(0).padStart(19)} | ${"-".padStart(27)} | ${"-".padStart(27)} |`,
    );
    say(
      `| checkout saga (reserve, charge, confirm), checkouts  | ${median(sagas).toFixed(1).padStart(19)} | ${`${percentile(latencies, 50).toFixed(0)} ms`.padStart(27)} | ${`${percentile(latencies, 99).toFixed(0)} ms`.padStart(27)} |`,
    );
    say("");
    say(
      `ratio checkouts/raw jobs: ${ratio.toFixed(3)} = 1/${(1 / ratio).toFixed(1)} (target >= 1/8 = 0.125: ${ratio >= 1 / 8 ? "met" : "NOT met"})`,
    );
    say("");
    say("| cost per checkout (median of the saga rounds) | CPU ms | SQL statements |");
    say("| --------------------------------------------- | ------ | -------------- |");
    const names = [BENCH, ...workers.map((w) => w.name), POSTGRES];
    const total = { cpu: 0, statements: 0 };
    for (const name of names) {
      const cpu = median(costs.map((c) => c.cpuMs.get(name) ?? 0));
      const statements = name === POSTGRES ? undefined : median(costs.map((c) => c.statements.get(name) ?? 0));
      total.cpu += cpu;
      total.statements += statements ?? 0;
      say(
        `| ${name.padEnd(45)} | ${cpu.toFixed(1).padStart(6)} | ${(statements === undefined ? "-" : statements.toFixed(1)).padStart(14)} |`,
      );
    }
    say(`| ${"total".padEnd(45)} | ${total.cpu.toFixed(1).padStart(6)} | ${total.statements.toFixed(1).padStart(14)} |`);
    say(
      `commits per checkout: ${median(costs.map((c) => c.commits)).toFixed(1)} (every transaction of the three databases: the checkout's, the relays' rounds, the timers' sweeps)`,
    );
    say(`load average after: ${load()}`);
  } finally {
    // A profiled worker writes its profile on the way out: give it the time.
    await Promise.all(workers.map((w) => w.stop(PROFILE_DIR ? 30_000 : 5000)));
    if (PROFILE_DIR) printProfiles(PROFILE_DIR);
    await orders.close().catch(() => {});
    await progress.end().catch(() => {});
    await admin.end().catch(() => {});
    await inventory.end().catch(() => {});
    // The run's queues (commands, replies and the events nobody consumes here) go with their prefix.
    const { Redis } = await import("ioredis");
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${queuePrefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== "0");
    redis.disconnect();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench:saga failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
