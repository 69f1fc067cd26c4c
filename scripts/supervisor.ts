/**
 * Process supervision for `npm start`: a process that dies is started again after an exponential backoff, and
 * after too many deaths in a row the supervisor gives up (a crash loop is a bug to read about, not to hide).
 *
 * Written here rather than taken from a library: pm2, nodemon or forever bring their own daemon, log handling or
 * file watching, while all `npm start` needs is this small policy around `child_process.spawn` it already uses.
 * The policy follows what Kubernetes does for a crash-looping container (doubling delay, capped, reset once the
 * process has stayed up for a while) plus systemd's start limit (give up after N failures).
 */
import type { ChildProcess } from "node:child_process";
import { z } from "@ecom/config";

/** How a supervised process is restarted (plain data, validated by {@link restartPolicySchema}). */
export const restartPolicySchema = z.object({
  /** Delay before the first restart. */
  initialDelayMs: z.number().int().min(0).default(500),
  /** Each further restart in a row waits this many times longer. */
  factor: z.number().min(1).default(2),
  /** Longest delay between two restarts. */
  maxDelayMs: z.number().int().min(0).default(10_000),
  /** Restarts in a row (without a stable run in between) after which the supervisor gives up. */
  maxRestarts: z.number().int().min(0).default(5),
  /** A process that stayed up this long counts as stable: its next death starts the count again. */
  stableAfterMs: z.number().int().min(0).default(30_000),
});

/** A validated {@link restartPolicySchema}. */
export type RestartPolicy = z.infer<typeof restartPolicySchema>;

/** The delay before restart number `attempt` (1 for the first restart in a row). */
export function restartDelayMs(policy: RestartPolicy, attempt: number): number {
  return Math.min(policy.maxDelayMs, Math.round(policy.initialDelayMs * policy.factor ** Math.max(0, attempt - 1)));
}

/** How a process ended. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** How long it had been running. */
  uptimeMs: number;
}

/** `code 1`, `SIGKILL`: for log lines. */
export const describeExit = (exit: Pick<ExitInfo, "code" | "signal">): string => exit.signal ?? `code ${exit.code}`;

/** What happened to a supervised process (for the output of `npm start`). */
export type SupervisorEvent =
  | { type: "exited"; name: string; exit: ExitInfo; restartInMs: number; attempt: number; maxRestarts: number }
  | { type: "restarted"; name: string; pid: number | undefined; attempt: number }
  | { type: "gave-up"; name: string; exit: ExitInfo; restarts: number };

/** Options of {@link supervise}. */
export interface SuperviseOptions {
  name: string;
  /** Spawns one incarnation of the process (in its own process group: `detached: true`). */
  start: () => ChildProcess;
  policy?: Partial<RestartPolicy>;
  /** Called for every exit, restart and give-up. */
  onEvent?: (event: SupervisorEvent) => void;
  /**
   * How long {@link SupervisedProcess.stop} waits after SIGTERM before killing the process group.
   * @default 10000
   */
  stopGraceMs?: number;
  /**
   * Clock, for tests.
   * @default Date.now
   */
  now?: () => number;
}

/** `running`: a process is up; `backoff`: waiting to restart; `gave-up`: crash loop; `stopped`: by {@link SupervisedProcess.stop}. */
export type SupervisedState = "running" | "backoff" | "gave-up" | "stopped";

/** One supervised process and its restarts. */
export interface SupervisedProcess {
  readonly name: string;
  /** The current incarnation (the last one once stopped or given up). */
  readonly child: ChildProcess;
  readonly state: SupervisedState;
  /** Restarts in a row so far (0 after a stable run). */
  readonly restarts: number;
  /** Resolves when the supervisor gives up, with the last exit. Never resolves for a process that is stopped. */
  readonly gaveUp: Promise<ExitInfo>;
  /**
   * Stops supervising: no restart is scheduled any more, a pending one is cancelled, the process gets SIGTERM
   * (its leader only: tsx relays it to the service, which shuts down gracefully), then after `stopGraceMs` the
   * whole process group is killed. Resolves with true when it exited within the grace period. Idempotent.
   */
  stop(): Promise<boolean>;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // the group is gone already
  }
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
    // A process that could not be spawned (ENOENT) emits "error" and no "exit".
    child.once("error", () => resolve({ code: null, signal: null }));
  });
}

/**
 * Starts a process and keeps it running: each time it exits (other than through {@link SupervisedProcess.stop})
 * its whole process group is killed (so no orphaned grandchild keeps its port) and it is started again after
 * {@link restartDelayMs}; after `maxRestarts` restarts in a row it is left down and `gaveUp` resolves.
 */
export function supervise(options: SuperviseOptions): SupervisedProcess {
  const policy = restartPolicySchema.parse(options.policy ?? {});
  const now = options.now ?? Date.now;
  const graceMs = options.stopGraceMs ?? 10_000;
  let state: SupervisedState = "running";
  let restarts = 0;
  let timer: NodeJS.Timeout | undefined;
  let child!: ChildProcess;
  let resolveGaveUp!: (exit: ExitInfo) => void;
  const gaveUp = new Promise<ExitInfo>((resolve) => (resolveGaveUp = resolve));
  let stopping: Promise<boolean> | undefined;

  const launch = () => {
    const startedAt = now();
    const current = options.start();
    child = current;
    void exitOf(current).then(({ code, signal }) => {
      if (current !== child || state === "stopped") return;
      const exit: ExitInfo = { code, signal, uptimeMs: now() - startedAt };
      // Whatever the leader left behind (tsx's child, if only the leader died) would hold the port.
      killGroup(current, "SIGKILL");
      if (exit.uptimeMs >= policy.stableAfterMs) restarts = 0;
      if (restarts >= policy.maxRestarts) {
        state = "gave-up";
        options.onEvent?.({ type: "gave-up", name: options.name, exit, restarts });
        resolveGaveUp(exit);
        return;
      }
      restarts += 1;
      const delay = restartDelayMs(policy, restarts);
      state = "backoff";
      options.onEvent?.({
        type: "exited",
        name: options.name,
        exit,
        restartInMs: delay,
        attempt: restarts,
        maxRestarts: policy.maxRestarts,
      });
      timer = setTimeout(() => {
        timer = undefined;
        if (state !== "backoff") return;
        state = "running";
        launch();
        options.onEvent?.({ type: "restarted", name: options.name, pid: child.pid, attempt: restarts });
      }, delay);
    });
  };
  launch();

  return {
    name: options.name,
    get child() {
      return child;
    },
    get state() {
      return state;
    },
    get restarts() {
      return restarts;
    },
    gaveUp,
    stop() {
      stopping ??= (async () => {
        const wasRunning = state === "running";
        state = "stopped";
        if (timer) clearTimeout(timer);
        let inTime = true;
        if (wasRunning && child.exitCode === null && child.signalCode === null) {
          child.kill("SIGTERM");
          let grace: NodeJS.Timeout | undefined;
          inTime = await Promise.race([
            exitOf(child).then(() => true),
            new Promise<boolean>((resolve) => (grace = setTimeout(() => resolve(false), graceMs))),
          ]);
          clearTimeout(grace);
        }
        killGroup(child, "SIGKILL");
        return inTime;
      })();
      return stopping;
    },
  };
}
