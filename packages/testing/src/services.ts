/**
 * The platform's own services as real processes, started as `npm start` starts them (tsx, from the service's
 * folder): the gateway, a subgraph, a subgraph's worker, a subgraph's seed. End-to-end tests that need a few of them
 * start them with {@link startService}; tests/e2e/platform.ts starts them all with it.
 *
 * ```ts
 * const users = await startService("users", { env: { DATABASE_URL: db.url } });
 * const gateway = await startService("gateway", {
 *   env: { SUBGRAPH_USERS_URL: users.url, JWKS_URL: `${users.origin}/.well-known/jwks.json`, ...(await unreachableSubgraphs(["users"])) },
 * });
 * ```
 */
import { createRequire } from "node:module";
import path from "node:path";
import { SUBGRAPH_NAMES, subgraphUrlVariable, type SubgraphName } from "@ecom/config";
import { getFreePort } from "./ports.ts";
import { startProcess, type RunningProcess } from "./process.ts";
import { ROOT_DIR } from "./run.ts";

// node + tsx's CLI rather than node_modules/.bin/tsx: the same node as the test run, whatever PATH says.
const TSX_CLI = createRequire(import.meta.url).resolve("tsx/cli");

/** A service of the platform: the gateway or a subgraph. */
export type ServiceName = "gateway" | SubgraphName;

/**
 * Waits until `proc` logged `readyMessage` (pino JSON, one object a line) and returns the `url` of that line; fails
 * with the process's output when it exits first or takes longer than `timeoutMs`.
 */
export async function readyUrlOf(proc: RunningProcess, readyMessage: string, timeoutMs = 120_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc.exited.then(() => (exited = true));
  for (;;) {
    for (const line of proc.output().split("\n")) {
      if (!line.includes(readyMessage)) continue;
      try {
        const entry = JSON.parse(line) as { msg?: unknown; url?: unknown };
        if (entry.msg === readyMessage && typeof entry.url === "string") return entry.url;
      } catch {
        // a partial line: read again on the next turn
      }
    }
    if (exited) throw new Error(`${proc.name} exited before it was ready. Output:\n${proc.output()}`);
    if (Date.now() > deadline)
      throw new Error(`${proc.name} did not log "${readyMessage}" within ${timeoutMs} ms. Output:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Polls `url` until it answers 200; fails with the last answer when that takes longer than `timeoutMs`, and with the
 * process's output as soon as `proc` exits.
 */
async function waitUntilOk(proc: RunningProcess, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc.exited.then(() => (exited = true));
  let last: string;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      last = `${res.status} ${await res.text()}`;
      if (res.ok) return;
    } catch (error) {
      last = String(error);
    }
    if (exited) throw new Error(`${proc.name} exited before ${url} answered 200. Output:\n${proc.output()}`);
    if (Date.now() > deadline)
      throw new Error(`${proc.name}: ${url} did not answer 200 within ${timeoutMs} ms (last: ${last}). Output:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Options of {@link startService}. */
export interface StartServiceOptions {
  /**
   * Start the subgraph's worker (`src/worker.ts`: consumers, relays) rather than its server.
   * @default false
   */
  worker?: boolean;
  /**
   * Label of the process in errors.
   * @default the service's name ("<name> worker" for a worker)
   */
  name?: string;
  /**
   * LOG_LEVEL. Without {@link port}, at least `info`: the port is read from the "ready" line.
   * @default "info"
   */
  logLevel?: string;
  /** Set over NODE_ENV=test, HOST=127.0.0.1, PORT and LOG_LEVEL; `undefined` unsets a variable. */
  env?: Record<string, string | undefined>;
  /**
   * A port picked in advance (getFreePort), for a test that must hand the URL to another process before this one
   * runs. Without it the service listens on PORT=0 and its port is read from its "ready" log line: a port picked in
   * advance can be taken by anything else on the machine during the seconds a process needs to boot.
   * @default 0
   */
  port?: number;
  /**
   * Path that must answer 200 before the service counts as started (polled once the port is known); `null`: the
   * "ready" log line is enough (only without {@link port}).
   * @default "/health/ready" with a port, null without
   */
  readyPath?: string | null;
  /**
   * Called with the process as soon as it is spawned, before it is ready: for a caller that must be able to
   * stop it while it boots (a hook timeout).
   * @default none
   */
  onSpawn?: (proc: RunningProcess) => void;
}

/** A service started by {@link startService}. */
export interface RunningService extends RunningProcess {
  /** e.g. `http://127.0.0.1:41234`. */
  origin: string;
  /** `<origin>/graphql` (the gateway's and a subgraph's endpoint). */
  url: string;
}

/**
 * Starts the gateway, a subgraph or (with `worker`) a subgraph's worker as a process, as `npm start` does, and
 * resolves once it is ready; a service that does not get ready is stopped and the error carries its output.
 */
export async function startService(service: ServiceName, options: StartServiceOptions = {}): Promise<RunningService> {
  if (service === "gateway" && options.worker) throw new Error("the gateway has no worker");
  const role = service === "gateway" ? "gateway" : options.worker ? `${service} worker` : `${service} subgraph`;
  const name = options.name ?? (options.worker ? `${service} worker` : service);
  const port = options.port ?? 0;
  const readyPath = options.readyPath === undefined ? (port ? "/health/ready" : null) : options.readyPath;
  if (port && !readyPath) throw new Error(`${name}: a port picked in advance needs a readyPath to know when it is up`);
  const proc = await startProcess({
    name,
    command: process.execPath,
    args: service === "gateway" ? [TSX_CLI, "gateway/src/index.ts"] : [TSX_CLI, options.worker ? "src/worker.ts" : "src/index.ts"],
    cwd: service === "gateway" ? ROOT_DIR : path.join(ROOT_DIR, "subgraphs", service),
    env: { NODE_ENV: "test", LOG_LEVEL: options.logLevel ?? "info", HOST: "127.0.0.1", PORT: String(port), ...options.env },
  });
  options.onSpawn?.(proc);
  try {
    const origin = port ? `http://127.0.0.1:${port}` : new URL(await readyUrlOf(proc, `${role} ready`)).origin;
    if (readyPath) await waitUntilOk(proc, `${origin}${readyPath}`, 60_000);
    return Object.assign(proc, { origin, url: `${origin}/graphql` });
  } catch (error) {
    await proc.stop();
    throw error;
  }
}

/**
 * Runs `subgraphs/<name>/src/seed.ts` against `databaseUrl` (as `npm run db:seed` does) and waits for it to
 * succeed; the error carries its output.
 */
export async function runSeed(
  name: SubgraphName,
  databaseUrl: string,
  options: { onSpawn?: (proc: RunningProcess) => void } = {},
): Promise<void> {
  const seed = await startProcess({
    name: `${name} seed`,
    command: process.execPath,
    args: [TSX_CLI, "src/seed.ts"],
    cwd: path.join(ROOT_DIR, "subgraphs", name),
    env: { NODE_ENV: "test", LOG_LEVEL: "warn", DATABASE_URL: databaseUrl },
  });
  options.onSpawn?.(seed);
  const code = await seed.exited;
  await seed.stop();
  if (code !== 0) throw new Error(`${name} seed exited with ${code}:\n${seed.output()}`);
}

/**
 * SUBGRAPH_<NAME>_URL of every subgraph but `running`, each at a port where nothing listens: a gateway in front
 * of a few subgraphs answers SUBGRAPH_UNAVAILABLE for the others.
 */
export async function unreachableSubgraphs(running: readonly SubgraphName[]): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const name of SUBGRAPH_NAMES.filter((n) => !running.includes(n)))
    env[subgraphUrlVariable(name)] = `http://127.0.0.1:${await getFreePort()}/graphql`;
  return env;
}
