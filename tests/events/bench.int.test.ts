/** `npm run bench:events -- --quick` runs end to end and prints its table (the figures themselves are not asserted). */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { describe, expect, inject, it } from "vitest";
import { ROOT_DIR } from "@ecom/testing";

const run = inject("testRun");
const tsx = createRequire(import.meta.url).resolve("tsx/cli");

describe("npm run bench:events", () => {
  it("prints raw BullMQ and outbox pipeline rates side by side, the ratio and the lag percentiles", { timeout: 180_000 }, async () => {
    const child = spawn(process.execPath, [tsx, "scripts/bench/events.ts", "--quick", "--events", "100", "--rounds", "1"], {
      cwd: ROOT_DIR,
      env: { ...process.env, POSTGRES_ADMIN_URL: run.adminUrl, REDIS_URL: run.redisUrl },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code, out).toBe(0);
    expect(out).toMatch(/\| raw BullMQ \(add -> no-op worker\)\s+\|\s+\d+ \|/);
    expect(out).toMatch(/\| outbox -> relay -> consumer \(inbox \+ effect\) \|\s+\d+ \|\s+\d+ ms \|\s+\d+ ms \|/);
    expect(out).toMatch(/\| producers alone \(one commit per event\)\s+\|\s+\d+ \|/);
    expect(out).toMatch(/^ratio events\/raw: \d+\.\d\d \(target >= 0\.33: (met|NOT met)\)$/m);
  });
});
