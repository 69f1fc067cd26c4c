import { spawn } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { restartDelayMs, restartPolicySchema, supervise, type SupervisedProcess, type SupervisorEvent } from "../../scripts/supervisor.ts";

const node = (script: string) => () => spawn(process.execPath, ["-e", script], { stdio: "ignore", detached: true });

async function until(predicate: () => boolean, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

const alive = (pid: number | undefined) => {
  try {
    return pid !== undefined && process.kill(pid, 0);
  } catch {
    return false;
  }
};

describe("restart policy", () => {
  it("doubles the delay for each restart in a row, up to the cap", () => {
    const policy = restartPolicySchema.parse({ initialDelayMs: 500, factor: 2, maxDelayMs: 3000 });
    expect([1, 2, 3, 4, 5].map((n) => restartDelayMs(policy, n))).toEqual([500, 1000, 2000, 3000, 3000]);
  });

  it("refuses a policy that makes no sense", () => {
    expect(() => restartPolicySchema.parse({ factor: 0.5 })).toThrow();
    expect(() => restartPolicySchema.parse({ maxRestarts: -1 })).toThrow();
  });
});

describe("supervise", () => {
  const supervised: SupervisedProcess[] = [];
  afterEach(async () => {
    await Promise.all(supervised.splice(0).map((s) => s.stop()));
  });

  it("restarts a process killed with SIGKILL, in a new process", async () => {
    const events: SupervisorEvent[] = [];
    const s = supervise({
      name: "sleeper",
      start: node("setInterval(() => {}, 1000)"),
      policy: { initialDelayMs: 10 },
      onEvent: (e) => events.push(e),
    });
    supervised.push(s);
    const first = s.child.pid;
    process.kill(first!, "SIGKILL");
    await until(() => events.some((e) => e.type === "restarted"));
    expect(events[0]).toMatchObject({ type: "exited", name: "sleeper", exit: { signal: "SIGKILL" }, attempt: 1 });
    expect(s.state).toBe("running");
    expect(s.child.pid).not.toBe(first);
    expect(alive(s.child.pid)).toBe(true);
  });

  it("gives up after maxRestarts deaths in a row, waiting longer before each restart", async () => {
    const events: SupervisorEvent[] = [];
    const s = supervise({
      name: "crasher",
      start: node("process.exit(3)"),
      policy: { initialDelayMs: 40, factor: 2, maxRestarts: 3, stableAfterMs: 60_000 },
      onEvent: (e) => events.push(e),
    });
    supervised.push(s);
    const exit = await s.gaveUp;
    expect(exit.code).toBe(3);
    expect(s.state).toBe("gave-up");
    const exits = events.filter((e) => e.type === "exited");
    expect(exits.map((e) => e.restartInMs)).toEqual([40, 80, 160]);
    expect(events.filter((e) => e.type === "restarted")).toHaveLength(3);
    expect(events.at(-1)).toMatchObject({ type: "gave-up", name: "crasher", restarts: 3 });
  });

  it("starts counting again after a stable run", async () => {
    const events: SupervisorEvent[] = [];
    // Every run lasts ~150 ms, longer than stableAfterMs: it never counts as a crash loop.
    const s = supervise({
      name: "flaky",
      start: node("setTimeout(() => process.exit(1), 150)"),
      policy: { initialDelayMs: 10, maxRestarts: 1, stableAfterMs: 100 },
      onEvent: (e) => events.push(e),
    });
    supervised.push(s);
    await until(() => events.filter((e) => e.type === "restarted").length >= 3);
    expect(events.some((e) => e.type === "gave-up")).toBe(false);
    expect(events.filter((e) => e.type === "exited").every((e) => e.type === "exited" && e.attempt === 1)).toBe(true);
  });

  it("stop cancels a pending restart and leaves nothing running", async () => {
    const events: SupervisorEvent[] = [];
    const s = supervise({
      name: "sleeper",
      start: node("setInterval(() => {}, 1000)"),
      policy: { initialDelayMs: 300 },
      onEvent: (e) => events.push(e),
    });
    const pid = s.child.pid;
    process.kill(pid!, "SIGKILL");
    await until(() => s.state === "backoff");
    await s.stop();
    await new Promise((r) => setTimeout(r, 400));
    expect(events.filter((e) => e.type === "restarted")).toHaveLength(0);
    expect(s.state).toBe("stopped");
    expect(s.child.pid).toBe(pid);
  });

  it("stop kills the whole process group, grandchildren included, after the grace period", async () => {
    // The leader ignores SIGTERM and has a child of its own.
    const script =
      "process.on('SIGTERM', () => {}); const c = require('node:child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }); console.log(c.pid); setInterval(() => {}, 1000)";
    let grandchild: number | undefined;
    const s = supervise({
      name: "stubborn",
      stopGraceMs: 300,
      start: () => {
        const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "ignore"], detached: true });
        child.stdout.on("data", (d: Buffer) => (grandchild = Number(d.toString().trim())));
        return child;
      },
    });
    await until(() => grandchild !== undefined);
    const leader = s.child.pid;
    expect(await s.stop()).toBe(false);
    await until(() => !alive(leader) && !alive(grandchild));
  });
});
