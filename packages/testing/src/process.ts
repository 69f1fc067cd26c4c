import { spawn, type ChildProcess } from "node:child_process";

/** Options of {@link startProcess}. */
export interface StartProcessOptions {
  /** Label used in errors. */
  name: string;
  command: string;
  args: string[];
  cwd?: string;
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
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null if killed by a signal). */
  stop(graceMs?: number): Promise<number | null>;
  /** Resolves when the process exits. */
  exited: Promise<number | null>;
}

/** Starts a process and (with `readyUrl`) waits until it is ready; on failure, the error includes its output. */
export async function startProcess(options: StartProcessOptions): Promise<RunningProcess> {
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let out = "";
  const append = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((c) => (exitCode = c));

  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  const stop = async (graceMs = 5000) => {
    if (exitCode !== undefined) return exitCode;
    signalGroup("SIGTERM");
    const timer = setTimeout(() => signalGroup("SIGKILL"), graceMs);
    const code = await exited;
    clearTimeout(timer);
    // The group may hold grandchildren that outlived the leader.
    signalGroup("SIGKILL");
    return code;
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

  if (options.readyUrl) {
    const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
    for (;;) {
      if (exitCode !== undefined) {
        throw new Error(`${options.name} exited with code ${exitCode} before it was ready. Output:\n${out}`);
      }
      try {
        const res = await fetch(options.readyUrl, { signal: AbortSignal.timeout(1000) });
        if (res.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`${options.name} was not ready at ${options.readyUrl} within ${options.readyTimeoutMs ?? 60_000} ms. Output:\n${out}`);
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  return handle;
}
