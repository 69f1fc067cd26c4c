/**
 * For the tests that run a benchmark script end to end (`--quick`) and check its table: runs it under tsx with the
 * test run's Postgres and Redis and resolves with its exit code and everything it printed.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { ROOT_DIR } from "@ecom/testing";

const tsx = createRequire(import.meta.url).resolve("tsx/cli");

/** Runs `script` (relative to the repository root) with `args`; `env` is added to the test process's environment. */
export async function runBenchScript(
  script: string,
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [tsx, script, ...args], {
    cwd: ROOT_DIR,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  // "close", not "exit": the pipes are drained by then, so the last lines of the table are in `output`.
  const code = await new Promise<number | null>((resolve) => {
    child.on("close", resolve);
    child.on("error", () => resolve(null));
  });
  return { code, output };
}
