/** `npm run bench:events -- --quick` runs end to end and prints its table (the figures themselves are not asserted). */
import { describe, expect, inject, it } from "vitest";
import { runBenchScript } from "../../scripts/bench/tests/run-script.ts";

const run = inject("testRun");

describe("npm run bench:events", () => {
  it("prints raw BullMQ and outbox pipeline rates side by side, the ratio and the lag percentiles", { timeout: 180_000 }, async () => {
    const { code, output: out } = await runBenchScript("scripts/bench/events.ts", ["--quick", "--events", "100", "--rounds", "1"], {
      POSTGRES_ADMIN_URL: run.adminUrl,
      REDIS_URL: run.redisUrl,
    });
    expect(code, out).toBe(0);
    expect(out).toMatch(/\| raw BullMQ \(add -> no-op worker\)\s+\|\s+\d+ \|/);
    expect(out).toMatch(/\| outbox -> relay -> consumer \(inbox \+ effect\) \|\s+\d+ \|\s+\d+ ms \|\s+\d+ ms \|/);
    expect(out).toMatch(/\| producers alone \(one commit per event\)\s+\|\s+\d+ \|/);
    expect(out).toMatch(/^ratio events\/raw: \d+\.\d\d \(target >= 0\.33: (met|NOT met)\)$/m);
  });
});
