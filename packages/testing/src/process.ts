import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** Options of {@link startProcess}. */
export interface StartProcessOptions {
  /** Label used in errors. */
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  /** Added to (and overriding) the test process's environment; `undefined` values unset a variable. */
  env?: Record<string, string | undefined>;
  /** Polled until it answers 200. */
  readyUrl?: string;
  /**
   * Give up waiting for readiness after this long.
   * @default 60000
   */
  readyTimeoutMs?: number;
}

/** A real child process, started in its own process group so that stopping it stops its children too. */
export interface RunningProcess extends AsyncDisposable {
  name: string;
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr, interleaved). */
  output(): string;
  /**
   * SIGTERM to the whole group, then SIGKILL after `graceMs`; resolves with the leader's exit code (null if killed
   * by a signal). Whatever is left of the group (grandchildren) is killed too, also when the leader had already
   * exited. Idempotent.
   * @param graceMs @default 5000
   */
  stop(graceMs?: number): Promise<number | null>;
  /** Resolves when the process exits (or could not be started). */
  exited: Promise<number | null>;
}

/** Starts a process and (with `readyUrl`) waits until it is ready; on failure, the error includes its output. */
export async function startProcess(options: StartProcessOptions): Promise<RunningProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    // Own process group (pgid = pid): one signal reaches the process and everything it started.
    detached: true,
  });
  let out = "";
  const append = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  let spawnError: Error | undefined;
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.on("exit", (code) => resolve(code));
    // ENOENT and the like: no "exit" follows. Without this listener the error would crash the test run.
    child.on("error", (error) => {
      spawnError = error;
      resolve(null);
    });
  });
  void exited.then((c) => (exitCode = c));
  // stdout/stderr can still hold data when "exit" fires; "close" means they are drained. Grandchildren that
  // inherited the pipes can keep them open forever, hence the bound.
  const drained = (maxMs: number) =>
    Promise.race([new Promise<void>((r) => child.once("close", () => r())), new Promise<void>((r) => setTimeout(r, maxMs).unref())]);

  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  let stopping: Promise<number | null> | undefined;
  const stop = (graceMs = 5000) => {
    stopping ??= (async () => {
      if (exitCode === undefined) {
        signalGroup("SIGTERM");
        const timer = setTimeout(() => signalGroup("SIGKILL"), graceMs);
        await exited;
        clearTimeout(timer);
      }
      // The group may hold grandchildren that outlived the leader (or the leader exited on its own before).
      signalGroup("SIGKILL");
      child.stdout?.destroy();
      child.stderr?.destroy();
      return exited;
    })();
    return stopping;
  };
  const handle: RunningProcess = {
    name: options.name,
    child,
    output: () => out,
    stop,
    exited,
    [Symbol.asyncDispose]: async () => {
      await stop();
    },
  };

  // A spawn failure (ENOENT...) is reported on the next tick.
  await new Promise((r) => setImmediate(r));
  if (spawnError) throw new Error(`${options.name} could not be started (${options.command}: ${spawnError.message})`);
  if (options.readyUrl) {
    const timeoutMs = options.readyTimeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (exitCode !== undefined) {
        await drained(500);
        await stop();
        throw new Error(`${options.name} exited with code ${exitCode} before it was ready. Output:\n${out}`);
      }
      try {
        const res = await fetch(options.readyUrl, { signal: AbortSignal.timeout(1000) });
        await res.body?.cancel();
        if (res.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`${options.name} was not ready at ${options.readyUrl} within ${timeoutMs} ms. Output:\n${out}`);
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 150))]);
    }
  }
  return handle;
}

/**
 * Pids of the processes whose environment contains `needle` (e.g. `DATABASE_PREFIX=<this test's>`), from /proc:
 * finds what a test started however it was started, also orphans that left its process group. This process is
 * never among them; processes of other users (unreadable) are skipped.
 */
export function processesWithEnv(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, "latin1").includes(needle)) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}
