/**
 * A deployment that forgot NODE_ENV must not come up with development defaults on a public interface: the gateway
 * process itself (as `npm start` runs it) refuses to start and says what to set.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { ROOT_DIR } from "@ecom/testing";
import { describe, expect, it } from "vitest";

const TSX_CLI = createRequire(import.meta.url).resolve("tsx/cli");

function boot(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    // Only PATH and HOME from this process: NODE_ENV and the rest stay unset, as in a forgetful deployment.
    const child = spawn(process.execPath, [TSX_CLI, "gateway/src/index.ts"], {
      cwd: ROOT_DIR,
      env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe("the gateway without NODE_ENV", () => {
  it("refuses to listen on a non-loopback HOST, naming NODE_ENV and HOST", async () => {
    const { code, stderr } = await boot({ HOST: "0.0.0.0", PORT: "0" });
    expect(code).toBe(1);
    expect(stderr).toMatch(/NODE_ENV: is not set, and HOST=0\.0\.0\.0 listens beyond this machine: set NODE_ENV=production/);
  });
});
