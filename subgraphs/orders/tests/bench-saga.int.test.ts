/**
 * `npm run bench:saga -- --quick` runs end to end and prints its tables: throughput and latency, and what a checkout
 * cost each process (the figures themselves are not asserted).
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { describe, expect, inject, it } from "vitest";
import { ROOT_DIR } from "@ecom/testing";

const run = inject("testRun");
const tsx = createRequire(import.meta.url).resolve("tsx/cli");

describe("npm run bench:saga", () => {
  it("prints raw BullMQ jobs/s and checkouts/s side by side, the ratio and the latency percentiles", { timeout: 300_000 }, async () => {
    const child = spawn(
      process.execPath,
      [tsx, "scripts/bench/saga.ts", "--quick", "--checkouts", "20", "--rounds", "1", "--db-prefix", `${run.prefix}_bsaga`],
      {
        cwd: ROOT_DIR,
        env: { ...process.env, POSTGRES_ADMIN_URL: run.adminUrl, REDIS_URL: run.redisUrl },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code, out).toBe(0);
    expect(out).toMatch(/\| raw BullMQ \(add -> no-op worker\), jobs\s+\|\s+\d+ \|/);
    expect(out).toMatch(/\| checkout saga \(reserve, charge, confirm\), checkouts\s+\|\s+\d+\.\d \|\s+\d+ ms \|\s+\d+ ms \|/);
    expect(out).toMatch(/^ratio checkouts\/raw jobs: \d+\.\d{3} = 1\/\d+\.\d \(target >= 1\/8 = 0\.125: (met|NOT met)\)$/m);
    for (const name of ["bench \\(placeOrder\\)", "orders worker", "inventory worker", "payments worker"]) {
      expect(out).toMatch(new RegExp(`^\\| ${name}\\s+\\|\\s+\\d+\\.\\d \\|\\s+[1-9]\\d*\\.\\d \\|$`, "m"));
    }
    expect(out).toMatch(/^\| postgres backends\s+\|\s+\d+\.\d \|\s+- \|$/m);
    expect(out).toMatch(/^commits per checkout: \d+\.\d /m);
  });
});
