/**
 * `npm start`: the whole platform on this machine, in one command.
 *
 *   1. checks Postgres and Redis answer (and says how to start them if not)
 *   2. generates missing Prisma clients, creates databases and roles, migrates, seeds the demo data
 *   3. starts every subgraph, then the workers (event consumers, outbox relays) and the gateway, then the queue
 *      dashboard, each as its own process with prefixed logs
 *   4. waits for each /health/ready with visible progress, then prints the URLs
 *   5. Ctrl-C (or any process dying) stops everything: no process is left behind
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { discoverServiceDatabases, checkPostgres, runPrisma } from "@ecom/db";
import { bootstrap } from "../prisma/bootstrap.ts";
import { loadToolEnv } from "../prisma/env.ts";
import { seedAll } from "../prisma/seed.ts";
import { loadStartEnv } from "./start-env.ts";
import { deployables, type Deployable } from "./topology.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const color = process.stdout.isTTY && !process.env["NO_COLOR"];
const paint = (code: number, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
const COLORS = [36, 35, 33, 32, 34, 96, 95, 93, 92];

function step(message: string): void {
  process.stdout.write(`${paint(1, "==>")} ${message}\n`);
}

function fail(message: string): never {
  process.stderr.write(`\n${paint(31, "npm start failed:")} ${message}\n`);
  process.exit(1);
}

async function checkRedis(url: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on("error", () => {});
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(
      `Redis is not reachable at ${url} (${(error as Error).message}).\n` +
        `  Start it with: redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no\n` +
        `  (or install it: apt-get install -y redis-server), or set REDIS_URL to a reachable server.`,
      { cause: error },
    );
  } finally {
    redis.disconnect();
  }
}

async function generateMissingClients(): Promise<void> {
  const services = discoverServiceDatabases(ROOT).filter((s) => !existsSync(path.join(s.dir, "src", "generated", "prisma", "client.ts")));
  if (services.length === 0) return;
  step(`generating Prisma clients: ${services.map((s) => s.name).join(", ")}`);
  await Promise.all(services.map((s) => runPrisma(["generate"], { cwd: s.dir, databaseUrl: loadToolEnv().databaseUrlFor(s.name) })));
}

interface Running {
  deployable: Deployable;
  child: ChildProcess;
  exited: boolean;
}

const running: Running[] = [];
let stopping = false;

function prefixLines(name: string, colorCode: number, stream: NodeJS.ReadableStream, out: NodeJS.WriteStream): void {
  const label = paint(colorCode, `[${name}]`.padEnd(16));
  let buffer = "";
  stream.on("data", (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split("\n");
    buffer = lines.pop() ?? "";
    for (const line of lines) out.write(`${label} ${line}\n`);
  });
  stream.on("end", () => {
    if (buffer) out.write(`${label} ${buffer}\n`);
  });
}

function startDeployable(d: Deployable, index: number, env: NodeJS.ProcessEnv): Running {
  const tsx = require.resolve("tsx/cli");
  const child = spawn(process.execPath, [tsx, d.entry], {
    cwd: d.dir,
    env: { ...env, ...d.env, PORT: String(d.port), FORCE_COLOR: color ? "1" : "0" },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so that stopping it also stops anything it spawned.
    detached: true,
  });
  const colorCode = COLORS[index % COLORS.length]!;
  prefixLines(d.name, colorCode, child.stdout!, process.stdout);
  prefixLines(d.name, colorCode, child.stderr!, process.stderr);
  const r: Running = { deployable: d, child, exited: false };
  child.on("exit", (code, signal) => {
    r.exited = true;
    if (!stopping) {
      process.stderr.write(`${paint(31, `[${d.name}] exited unexpectedly (${signal ?? `code ${code}`})`)}: stopping everything\n`);
      void shutdown(1);
    }
  });
  running.push(r);
  return r;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    const alive = running.filter((r) => !r.exited);
    if (alive.length > 0) step(`stopping ${alive.map((r) => r.deployable.name).join(", ")}`);
    // SIGTERM to each tsx leader only: tsx relays it to the service, which then shuts down gracefully. Signalling
    // the whole group at once would hit the service twice and let tsx exit before the service has finished.
    for (const r of alive) r.child.kill("SIGTERM");
    const deadline = Date.now() + 10_000;
    while (running.some((r) => !r.exited) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    // Then the whole group of each: anything a leader left behind (or a leader that did not stop) is killed.
    for (const r of running) signalGroup(r.child, "SIGKILL");
    if (running.some((r) => !r.exited)) process.stderr.write("some processes did not stop within 10 s and were killed\n");
    else step("all processes stopped");
  }
  process.exit(code);
}

async function waitReady(r: Running, timeoutMs: number): Promise<void> {
  const url = `http://127.0.0.1:${r.deployable.port}/health/ready`;
  const started = Date.now();
  let lastReport = started;
  for (;;) {
    if (r.exited) throw new Error(`${r.deployable.name} exited before it was ready (see its log lines above)`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) {
        step(`${r.deployable.name} ready on :${r.deployable.port} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
        return;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() - started > timeoutMs) throw new Error(`${r.deployable.name} was not ready at ${url} within ${timeoutMs / 1000} s`);
    if (Date.now() - lastReport > 5000) {
      lastReport = Date.now();
      process.stdout.write(`    waiting for ${r.deployable.name} (${Math.round((Date.now() - started) / 1000)} s)...\n`);
    }
    await new Promise((res) => setTimeout(res, 200));
  }
}

async function main(): Promise<void> {
  const env = loadStartEnv();
  process.on("SIGINT", () => void shutdown(0));
  process.on("SIGTERM", () => void shutdown(0));

  step("checking Postgres and Redis");
  await Promise.all([checkPostgres(env.POSTGRES_ADMIN_URL, 3000), checkRedis(env.REDIS_URL)]);

  await generateMissingClients();
  step("creating databases and roles, applying migrations");
  await bootstrap((line) => process.stdout.write(`    ${line}\n`));
  step("seeding demo data");
  await seedAll((line) => process.stdout.write(`    ${line}\n`));

  const all = deployables(ROOT, env.START_BASE_PORT);
  const subgraphs = all.filter((d) => d.kind === "subgraph");
  const workers = all.filter((d) => d.kind === "worker");
  const dashboard = all.find((d) => d.kind === "dashboard");
  const gateway = all.find((d) => d.kind === "gateway");
  const toolEnv = loadToolEnv();
  // Queues are namespaced like the databases, so two platforms on one Redis (a test's and yours) never mix.
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: env.NODE_ENV,
    REDIS_URL: env.REDIS_URL,
    QUEUE_PREFIX: toolEnv.DATABASE_PREFIX,
  };

  step(`starting ${subgraphs.length} subgraphs: ${subgraphs.map((s) => `${s.name}:${s.port}`).join(", ")}`);
  const started = subgraphs.map((d, i) => startDeployable(d, i, { ...childEnv, DATABASE_URL: toolEnv.databaseUrlFor(d.name) }));
  await Promise.all(started.map((r) => waitReady(r, 90_000)));
  if (workers.length > 0) {
    step(`starting ${workers.length} workers: ${workers.map((w) => `${w.name}:${w.port}`).join(", ")}`);
    const startedWorkers = workers.map((d, i) =>
      startDeployable(d, subgraphs.length + i, { ...childEnv, DATABASE_URL: toolEnv.databaseUrlFor(path.basename(d.dir)) }),
    );
    await Promise.all(startedWorkers.map((r) => waitReady(r, 90_000)));
  }
  if (gateway) {
    step(`starting the gateway on :${gateway.port}`);
    const g = startDeployable(gateway, subgraphs.length + workers.length, childEnv);
    await waitReady(g, 90_000);
  }
  if (dashboard && env.NODE_ENV === "development") {
    await waitReady(startDeployable(dashboard, all.length, childEnv), 60_000);
  }

  const lines = [
    "",
    paint(32, "The platform is running."),
    ...(gateway ? [`  GraphQL gateway  http://localhost:${gateway.port}/graphql  (open it in a browser for Apollo Sandbox)`] : []),
    ...subgraphs.map((s) => `  ${s.name.padEnd(15)}  http://localhost:${s.port}/graphql`),
    ...(workers.length > 0 ? [`  Workers:         ${workers.map((w) => `${w.name} :${w.port}`).join(", ")}`] : []),
    ...(dashboard && env.NODE_ENV === "development" ? [`  Queue dashboard  http://localhost:${dashboard.port}/queues  (bull-board)`] : []),
    "  Every process:   /health/live  /health/ready  /metrics",
    "  Demo users:      alice@example.com, bob@example.com (CUSTOMER), admin@example.com (ADMIN); password password123",
    "Press Ctrl-C to stop everything.",
    "",
  ];
  process.stdout.write(lines.join("\n"));
}

main().catch((error: unknown) => {
  if (!stopping && running.length > 0) {
    process.stderr.write(`\n${paint(31, "npm start failed:")} ${error instanceof Error ? error.message : String(error)}\n`);
    void shutdown(1);
    return;
  }
  fail(error instanceof Error ? error.message : String(error));
});
