/**
 * `npm start`: the whole platform on this machine, in one command.
 *
 *   1. checks Postgres and Redis answer (and says how to start them if not)
 *   2. generates missing Prisma clients, creates databases and roles, migrates, seeds the demo data
 *   3. starts every subgraph and worker (event consumers, outbox relays), then the gateway, then the queue
 *      dashboard (development), each as its own process with prefixed logs
 *   4. waits for each /health/ready with visible progress, then prints the URLs
 *   5. supervises them: a process that dies is restarted with exponential backoff; one that keeps dying
 *      (START_MAX_RESTARTS in a row) makes `npm start` give up, saying which and why
 *   6. Ctrl-C stops everything: no process is left behind
 */
import { spawn } from "node:child_process";
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
import { describeExit, supervise, type RestartPolicy, type SupervisedProcess, type SupervisorEvent } from "./supervisor.ts";
import { deployables, parseScaleArgs, withScale, type Deployable } from "./topology.ts";

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
  process: SupervisedProcess;
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

/** Prints what the supervisor did, and gives up on the whole platform when one process crash-loops. */
function reportSupervisorEvent(event: SupervisorEvent, r: Running): void {
  if (stopping) return;
  switch (event.type) {
    case "exited":
      process.stderr.write(
        `${paint(31, `[${event.name}] exited unexpectedly (${describeExit(event.exit)})`)}: restarting in ` +
          `${(event.restartInMs / 1000).toFixed(1)} s (restart ${event.attempt} of at most ${event.maxRestarts} in a row)\n`,
      );
      return;
    case "restarted":
      step(`${event.name} restarted (pid ${event.pid ?? "?"}, restart ${event.attempt})`);
      // Reported in the background: the rest of the platform keeps running meanwhile.
      void waitReady(r, 90_000, "ready again").catch((error: unknown) => process.stderr.write(`${(error as Error).message}\n`));
      return;
    case "gave-up":
      process.stderr.write(
        `\n${paint(31, "npm start gave up:")} ${event.name} exited ${event.restarts + 1} times in a row ` +
          `(last: ${describeExit(event.exit)} after ${(event.exit.uptimeMs / 1000).toFixed(1)} s); see its log lines above.\n`,
      );
      void shutdown(1);
      return;
    default: {
      const unexpected: never = event;
      throw new Error(`unknown supervisor event ${JSON.stringify(unexpected)}`);
    }
  }
}

function startDeployable(d: Deployable, index: number, env: NodeJS.ProcessEnv, policy: Partial<RestartPolicy>): Running {
  const tsx = require.resolve("tsx/cli");
  const colorCode = COLORS[index % COLORS.length]!;
  const supervised = supervise({
    name: d.name,
    policy,
    start: () => {
      const child = spawn(process.execPath, [tsx, d.entry], {
        cwd: d.dir,
        env: { ...env, ...d.env, ...(d.port === undefined ? {} : { PORT: String(d.port) }), FORCE_COLOR: color ? "1" : "0" },
        stdio: ["ignore", "pipe", "pipe"],
        // Its own process group, so that stopping it also stops anything it spawned.
        detached: true,
      });
      prefixLines(d.name, colorCode, child.stdout!, process.stdout);
      prefixLines(d.name, colorCode, child.stderr!, process.stderr);
      return child;
    },
    onEvent: (event) => reportSupervisorEvent(event, r),
  });
  const r: Running = { deployable: d, process: supervised };
  running.push(r);
  return r;
}

async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    const alive = running.filter((r) => r.process.state === "running" || r.process.state === "backoff");
    if (alive.length > 0) step(`stopping ${alive.map((r) => r.deployable.name).join(", ")}`);
    // Each supervisor sends SIGTERM to its tsx leader only (tsx relays it to the service, which then shuts down
    // gracefully; signalling the whole group would hit the service twice), then kills whatever is left of the group.
    const inTime = await Promise.all(running.map((r) => r.process.stop()));
    if (inTime.includes(false)) process.stderr.write("some processes did not stop within 10 s and were killed\n");
    else step("all processes stopped");
  }
  process.exit(code);
}

/** Polls `/health/ready` of the process's current incarnation; a process without a port is ready once running. */
async function waitReady(r: Running, timeoutMs: number, what = "ready"): Promise<void> {
  const { port, name } = r.deployable;
  const started = Date.now();
  let lastReport = started;
  for (;;) {
    if (r.process.state === "gave-up" || stopping) throw new Error(`${name} did not start (see its log lines above)`);
    if (port === undefined) {
      if (r.process.state === "running") return;
    } else {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) {
          step(`${name} ${what} on :${port} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
          return;
        }
      } catch {
        // not listening yet
      }
    }
    if (Date.now() - started > timeoutMs)
      throw new Error(`${name} was not ${what} at http://127.0.0.1:${port}/health/ready within ${timeoutMs / 1000} s`);
    if (Date.now() - lastReport > 5000) {
      lastReport = Date.now();
      process.stdout.write(`    waiting for ${name} (${Math.round((Date.now() - started) / 1000)} s)...\n`);
    }
    await new Promise((res) => setTimeout(res, 200));
  }
}

async function main(): Promise<void> {
  const env = loadStartEnv();
  const discovered = deployables(ROOT, env.START_BASE_PORT);
  // --scale products=2: more instances of a subgraph, balanced by the gateway through the service registry.
  // Read before anything starts, so that a typo fails at once.
  const scale = parseScaleArgs(
    process.argv.slice(2),
    discovered.filter((d) => d.kind === "subgraph").map((d) => d.name),
  );
  process.on("SIGINT", () => void shutdown(0));
  process.on("SIGTERM", () => void shutdown(0));

  step("checking Postgres and Redis");
  await Promise.all([checkPostgres(env.POSTGRES_ADMIN_URL, 3000), checkRedis(env.REDIS_URL)]);

  await generateMissingClients();
  step("creating databases and roles, applying migrations");
  await bootstrap((line) => process.stdout.write(`    ${line}\n`));
  step("seeding demo data");
  await seedAll((line) => process.stdout.write(`    ${line}\n`));

  const all = withScale(discovered, scale);
  const subgraphs = all.filter((d) => d.kind === "subgraph");
  const workers = all.filter((d) => d.kind === "worker");
  const dashboard = all.find((d) => d.kind === "dashboard");
  const gateway = all.find((d) => d.kind === "gateway");
  // Workers (and any other deployed kind) start with the subgraphs and are supervised the same way.
  const others = all.filter((d) => d.kind !== "subgraph" && d.kind !== "gateway" && d.kind !== "dashboard");
  const policy: Partial<RestartPolicy> = { maxRestarts: env.START_MAX_RESTARTS, initialDelayMs: env.START_RESTART_DELAY };
  const toolEnv = loadToolEnv();
  // Queues are namespaced like the databases, so two platforms on one Redis (a test's and yours) never mix.
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: env.NODE_ENV,
    REDIS_URL: env.REDIS_URL,
    QUEUE_PREFIX: toolEnv.DATABASE_PREFIX,
  };

  step(`starting ${subgraphs.length} subgraphs: ${subgraphs.map((s) => `${s.name}:${s.port}`).join(", ")}`);
  const started = subgraphs.map((d, i) =>
    startDeployable(d, i, { ...childEnv, DATABASE_URL: toolEnv.databaseUrlFor(path.basename(d.dir)) }, policy),
  );
  if (others.length > 0) step(`starting ${others.map((d) => `${d.name} (${d.kind})`).join(", ")}`);
  started.push(
    ...others.map((d, i) =>
      startDeployable(d, subgraphs.length + 1 + i, { ...childEnv, DATABASE_URL: toolEnv.databaseUrlFor(path.basename(d.dir)) }, policy),
    ),
  );
  await Promise.all(started.map((r) => waitReady(r, 90_000)));
  if (gateway) {
    step(`starting the gateway on :${gateway.port}`);
    const g = startDeployable(gateway, subgraphs.length + others.length, childEnv, policy);
    await waitReady(g, 90_000);
  }
  if (dashboard && env.NODE_ENV === "development") {
    await waitReady(startDeployable(dashboard, all.length, childEnv, policy), 60_000);
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
    "A process that dies is restarted (with backoff); Ctrl-C stops everything.",
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
