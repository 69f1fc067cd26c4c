/**
 * The processes of a benchmark run: started in their own process group (so a stop takes their children too),
 * output kept for diagnostics, ready when a line names their URL or a URL answers.
 */
import { spawn, type ChildProcess } from "node:child_process";

/** A process of the run. */
export interface BenchProcess {
  name: string;
  child: ChildProcess;
  /** Its output so far (the last 200 kB). */
  output(): string;
  /** SIGTERM to the group, SIGKILL after `graceMs`. Idempotent. */
  stop(graceMs?: number): Promise<void>;
  exited: Promise<number | null>;
}

/** Starts `command args` in its own process group. */
export function startBenchProcess(
  name: string,
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): BenchProcess {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let out = "";
  const keep = (chunk: Buffer) => {
    out += chunk.toString();
    if (out.length > 400_000) out = out.slice(-200_000);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = new Promise<number | null>((resolve) => {
    child.on("exit", (code) => resolve(code));
    child.on("error", () => resolve(null));
  });
  const group = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      // gone
    }
  };
  let stopping: Promise<void> | undefined;
  return {
    name,
    child,
    output: () => out,
    exited,
    stop(graceMs = 5000) {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          group("SIGTERM");
          const timer = setTimeout(() => group("SIGKILL"), graceMs);
          await exited;
          clearTimeout(timer);
        }
        group("SIGKILL");
      })();
      return stopping;
    },
  };
}

/** Waits until the process printed a JSON log line with `msg` and a `url`; returns that URL. */
export async function readyUrl(proc: BenchProcess, msg: string, timeoutMs = 120_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const line of proc.output().split("\n")) {
      if (!line.includes(msg)) continue;
      try {
        const entry = JSON.parse(line) as { msg?: unknown; url?: unknown };
        if (entry.msg === msg && typeof entry.url === "string") return entry.url;
      } catch {
        // partial line
      }
    }
    if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited before it was ready:\n${proc.output().slice(-4000)}`);
    if (Date.now() > deadline) throw new Error(`${proc.name} did not log "${msg}" within ${timeoutMs} ms:\n${proc.output().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Polls `url` until it answers 2xx. */
export async function waitUntilOk(proc: BenchProcess, url: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      // not yet
    }
    if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited before it was ready:\n${proc.output().slice(-4000)}`);
    if (Date.now() > deadline)
      throw new Error(`${proc.name}: ${url} did not answer 2xx within ${timeoutMs} ms:\n${proc.output().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
