/**
 * `npm run bench:saga -- --quick` runs end to end and prints its tables: throughput and latency, and what a checkout
 * cost each process (the figures themselves are not asserted).
 */
import { describe, expect, inject, it } from "vitest";
import { runBenchScript } from "../../../scripts/bench/tests/run-script.ts";

const run = inject("testRun");

describe("npm run bench:saga", () => {
  it("prints raw BullMQ jobs/s and checkouts/s side by side, the ratio and the latency percentiles", { timeout: 300_000 }, async () => {
    const { code, output: out } = await runBenchScript(
      "scripts/bench/saga.ts",
      ["--quick", "--checkouts", "20", "--rounds", "1", "--db-prefix", `${run.prefix}_bsaga`],
      { POSTGRES_ADMIN_URL: run.adminUrl, REDIS_URL: run.redisUrl },
    );
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
