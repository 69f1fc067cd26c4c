import { createRequestSigner, devMasterKeyring, pairKeyringFromMaster } from "@ecom/auth";
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const tsxCli = createRequire(import.meta.url).resolve("tsx/cli");
const script = fileURLToPath(new URL("./fixtures/serve-until-signal.ts", import.meta.url));

interface Booted {
  child: ChildProcess;
  port: number;
  lines: Array<Record<string, unknown>>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  // tsx runs the script in a child of its own: kill the whole group, or a failed test leaves the server running.
  for (const c of children.splice(0)) {
    try {
      process.kill(-c.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

/** Starts the fixture and resolves once it logged its port. */
function boot(env: Record<string, string> = {}): Promise<Booted> {
  const child = spawn(process.execPath, [tsxCli, script], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  children.push(child);
  const lines: Array<Record<string, unknown>> = [];
  let stderr = "";
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.on("exit", (code, signal) => r({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    let buffered = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout!.on("data", (d: Buffer) => {
      buffered += d.toString();
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>;
        buffered = buffered.slice(nl + 1);
        lines.push(line);
        if (line["msg"] === "listening") resolve({ child, port: line["port"] as number, lines, exit });
      }
    });
    void exit.then(({ code }) => reject(new Error(`fixture exited (${code}) before listening:\n${stderr}`)));
  });
}

describe("runUntilSignal", () => {
  it("on SIGTERM lets in-flight requests finish, runs onStop and exits 0", async () => {
    const { child, port, lines, exit } = await boot();
    const body = JSON.stringify({ query: "{ slow(ms: 700) }" });
    const sign = createRequestSigner({
      caller: "gateway",
      target: "fixture",
      keys: pairKeyringFromMaster(devMasterKeyring(), "gateway", "fixture"),
    });
    const headers = { "content-type": "application/json" };
    const slow = fetch(`http://127.0.0.1:${port}/graphql`, {
      method: "POST",
      headers: { ...headers, ...sign({ method: "POST", path: "/graphql", body, headers }) },
      body,
    });
    await new Promise((r) => setTimeout(r, 200));
    child.kill("SIGTERM");
    const res = await slow;
    expect(await res.json()).toEqual({ data: { slow: "done" } });
    expect(await exit).toEqual({ code: 0, signal: null });
    const messages = lines.map((l) => l["msg"]);
    expect(messages).toEqual(expect.arrayContaining(["shutting down", "onStop ran", "stopped"]));
    expect(messages.indexOf("onStop ran")).toBeLessThan(messages.indexOf("stopped"));
    expect(lines.find((l) => l["msg"] === "shutting down")).toMatchObject({ signal: "SIGTERM" });
  });

  it("exits 1 when stopping takes longer than timeoutMs", async () => {
    const { child, exit, lines } = await boot({ HANG_ON_STOP: "1", STOP_TIMEOUT_MS: "500" });
    const t0 = Date.now();
    child.kill("SIGINT");
    expect(await exit).toEqual({ code: 1, signal: null });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(lines.map((l) => l["msg"])).toContain("graceful shutdown timed out; exiting");
  });
});
