import { readFileSync, readdirSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { getFreePort, startProcess, type RunningProcess } from "@ecom/testing";

/** Live (non-zombie) processes whose process group is `pgid`, from /proc. */
function groupMembers(pgid: number): Array<{ pid: number; comm: string }> {
  const members: Array<{ pid: number; comm: string }> = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(pgrp) === pgid && state !== "Z") members.push({ pid: Number(entry), comm });
  }
  return members;
}

const node = process.execPath;
const started: RunningProcess[] = [];
afterEach(async () => {
  // Whatever a failing test left behind.
  for (const p of started.splice(0)) await p.stop(100);
});
async function start(...args: Parameters<typeof startProcess>) {
  const p = await startProcess(...args);
  started.push(p);
  return p;
}

// Answers 503 for its first `READY_AFTER_MS`, then 200.
const SERVER = `
const http = require("node:http");
const readyAt = Date.now() + Number(process.env.READY_AFTER_MS);
http.createServer((req, res) => { res.statusCode = Date.now() >= readyAt ? 200 : 503; res.end(); })
  .listen(Number(process.env.PORT), "127.0.0.1", () => console.log("listening on " + process.env.PORT));
`;

describe("getFreePort", () => {
  it("returns distinct ports that can be listened on", async () => {
    const a = await getFreePort();
    const b = await getFreePort();
    expect(a).toBeGreaterThan(0);
    expect(a).not.toBe(b);
  });
});

describe("startProcess", () => {
  it("waits until readyUrl answers 200 (not merely until the port is open)", async () => {
    const port = await getFreePort();
    const t0 = Date.now();
    const p = await start({
      name: "server",
      command: node,
      args: ["-e", SERVER],
      env: { PORT: String(port), READY_AFTER_MS: "700" },
      readyUrl: `http://127.0.0.1:${port}/health`,
      readyTimeoutMs: 10_000,
    });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(650);
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
    expect(p.output()).toContain(`listening on ${port}`);
    expect(await p.stop()).toBeNull(); // killed by SIGTERM
  });

  it("fails fast with the process's output when it exits before it is ready", async () => {
    const port = await getFreePort();
    const t0 = Date.now();
    const error = await startProcess({
      name: "broken-service",
      command: node,
      args: ["-e", 'console.log("booting"); console.error("Invalid configuration: DATABASE_URL is required"); process.exit(3)'],
      readyUrl: `http://127.0.0.1:${port}/health/ready`,
      readyTimeoutMs: 30_000,
    }).then(
      (p) => {
        started.push(p);
        return new Error("started");
      },
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toContain("broken-service exited with code 3 before it was ready");
    expect(error.message).toContain("booting");
    expect(error.message).toContain("Invalid configuration: DATABASE_URL is required");
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it("gives up after readyTimeoutMs, stops the process and shows its output", async () => {
    const port = await getFreePort();
    const error = await startProcess({
      name: "never-ready",
      command: node,
      args: ["-e", SERVER],
      env: { PORT: String(port), READY_AFTER_MS: "600000" },
      readyUrl: `http://127.0.0.1:${port}/`,
      readyTimeoutMs: 800,
    }).then(
      (p) => {
        started.push(p);
        return new Error("started");
      },
      (e: unknown) => e as Error,
    );
    expect(error.message).toMatch(/never-ready was not ready at http:\/\/127\.0\.0\.1:\d+\/ within 800 ms/);
    expect(error.message).toContain("listening on");
    // Nothing listens any more: the process was stopped.
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  });

  it("reports a command that cannot be started, without crashing the test process", async () => {
    await expect(
      startProcess({ name: "ghost", command: "/nonexistent/binary", args: [], readyUrl: "http://127.0.0.1:1/" }),
    ).rejects.toThrow(/ghost could not be started \(\/nonexistent\/binary: spawn \/nonexistent\/binary ENOENT\)/);
  });

  it("stop() kills the whole process group, grandchildren included", async () => {
    const p = await start({ name: "sleepers", command: "sh", args: ["-c", "sleep 300 & sleep 300"] });
    const pgid = p.child.pid!;
    await expect.poll(() => groupMembers(pgid).filter((m) => m.comm === "sleep").length).toBe(2);
    expect(await p.stop(2000)).toBeNull();
    await expect.poll(() => groupMembers(pgid)).toEqual([]);
  });

  it("stop() also kills grandchildren left behind by a leader that already exited", async () => {
    const p = await start({ name: "daemonizer", command: "sh", args: ["-c", "sleep 300 & exit 0"] });
    const pgid = p.child.pid!;
    expect(await p.exited).toBe(0);
    // The forked child is `sh` until it has exec'd sleep: on a loaded machine that takes a moment.
    await expect.poll(() => groupMembers(pgid).map((m) => m.comm)).toEqual(["sleep"]);
    expect(await p.stop()).toBe(0);
    await expect.poll(() => groupMembers(pgid)).toEqual([]);
  });

  it("stop() escalates to SIGKILL when the group ignores SIGTERM", async () => {
    const p = await start({ name: "stubborn", command: "sh", args: ["-c", "trap '' TERM; echo armed; sleep 300 & wait"] });
    await expect.poll(() => p.output()).toContain("armed");
    const t0 = Date.now();
    expect(await p.stop(300)).toBeNull();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    await expect.poll(() => groupMembers(p.child.pid!)).toEqual([]);
  });

  it("stop() is idempotent and works through await using", async () => {
    let pgid: number;
    {
      await using p = await startProcess({ name: "scoped", command: "sleep", args: ["300"] });
      pgid = p.child.pid!;
      expect(groupMembers(pgid)).toHaveLength(1);
    }
    expect(groupMembers(pgid)).toEqual([]);
  });
});
