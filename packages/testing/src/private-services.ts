/**
 * A Postgres cluster or a Redis server of the test's own, on a free loopback port, for tests that stop and start
 * a dependency (outage tests). The machine's shared Postgres and Redis serve every other test run and must never
 * be stopped; these can be, as often as a test likes. Each lives in a temp folder that `dispose` removes.
 */
import { execFile, spawn } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { getFreePort } from "./ports.ts";

const run = promisify(execFile);

/** The newest Postgres binaries installed (Debian's /usr/lib/postgresql/<major>/bin). */
export function postgresBinDir(): string {
  const base = "/usr/lib/postgresql";
  const majors = existsSync(base)
    ? readdirSync(base)
        .filter((v) => existsSync(path.join(base, v, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (majors.length === 0) throw new Error(`no Postgres binaries under ${base}: apt-get install -y postgresql`);
  return path.join(base, majors[0]!, "bin");
}

/** A private Postgres cluster; trust authentication on 127.0.0.1 only, superuser `postgres`. */
export interface PrivatePostgres extends AsyncDisposable {
  port: number;
  /** Superuser URL (`postgres://postgres@127.0.0.1:<port>/postgres`). */
  adminUrl: string;
  /** Stops the server (`pg_ctl stop -m fast`: sessions are terminated, open transactions rolled back). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it and removes its folder. Idempotent. */
  dispose(): Promise<void>;
}

/**
 * Creates and starts a private Postgres cluster: `initdb` in a temp folder as the `postgres` OS user (Postgres
 * refuses to run as root), a free port, its socket in the same folder.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(path.join(tmpdir(), "private-pg-"));
  const data = path.join(dir, "data");
  const asPostgres = process.getuid?.() === 0;
  if (asPostgres) {
    const { stdout } = await run("id", ["-u", "postgres"]);
    const { stdout: gid } = await run("id", ["-g", "postgres"]);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
    chmodSync(dir, 0o700);
  }
  const pgRun = (tool: string, args: string[]) =>
    asPostgres ? run("runuser", ["-u", "postgres", "--", path.join(bin, tool), ...args]) : run(path.join(bin, tool), args);
  await pgRun("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C"]);
  const port = await getFreePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`;
  let running = false;
  let disposed = false;
  const handle: PrivatePostgres = {
    port,
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async start() {
      await pgRun("pg_ctl", ["-D", data, "-o", options, "-l", path.join(dir, "postgres.log"), "-w", "-t", "60", "start"]);
      running = true;
    },
    async stop() {
      await pgRun("pg_ctl", ["-D", data, "-m", "fast", "-w", "-t", "60", "stop"]);
      running = false;
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      if (running || existsSync(path.join(data, "postmaster.pid"))) {
        await pgRun("pg_ctl", ["-D", data, "-m", "immediate", "-w", "-t", "30", "stop"]).catch(() => {});
      }
      rmSync(dir, { recursive: true, force: true });
    },
    [Symbol.asyncDispose]() {
      return handle.dispose();
    },
  };
  try {
    await handle.start();
  } catch (error) {
    await handle.dispose();
    throw error;
  }
  return handle;
}

/** A private Redis server (no persistence), on 127.0.0.1. */
export interface PrivateRedis extends AsyncDisposable {
  port: number;
  url: string;
  /** Stops the server (its data is gone: nothing is persisted). */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  /** Stops it and removes its folder. Idempotent. */
  dispose(): Promise<void>;
}

/** Starts a private `redis-server` on a free port. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const dir = mkdtempSync(path.join(tmpdir(), "private-redis-"));
  const port = await getFreePort();
  let child: ReturnType<typeof spawn> | undefined;
  let disposed = false;
  const waitPing = async (up: boolean) => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const answered = await run("redis-cli", ["-p", String(port), "ping"]).then(
        (r) => r.stdout.trim() === "PONG",
        () => false,
      );
      if (answered === up) return;
      if (Date.now() > deadline) throw new Error(`private redis on :${port} did not ${up ? "start" : "stop"}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const handle: PrivateRedis = {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    async start() {
      child = spawn("redis-server", ["--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no", "--dir", dir], {
        stdio: "ignore",
      });
      await waitPing(true);
    },
    async stop() {
      const c = child;
      child = undefined;
      if (c && c.exitCode === null) {
        const exited = new Promise((r) => c.once("exit", r));
        c.kill("SIGTERM");
        await exited;
      }
      await waitPing(false);
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      if (child && child.exitCode === null) child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
    [Symbol.asyncDispose]() {
      return handle.dispose();
    },
  };
  await handle.start();
  return handle;
}
