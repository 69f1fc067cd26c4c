/**
 * `npm run demo` against the whole platform (seven subgraphs, their workers and the gateway as processes, demo data
 * seeded): the journey completes, following one order to CONFIRMED and one to CANCELLED step by step.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ROOT_DIR } from "@ecom/testing";
import { createPlatform } from "./platform.ts";

const run = inject("testRun");
const tsx = createRequire(import.meta.url).resolve("tsx/cli");

describe("npm run demo", () => {
  const platform = createPlatform(run);
  beforeAll(() => platform.start(), 600_000);
  afterAll(() => platform.stop());

  const demo = (url: string) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [tsx, "scripts/demo.ts"], {
        cwd: ROOT_DIR,
        env: { ...process.env, DEMO_GATEWAY_URL: url, DEMO_TIMEOUT_MS: "120000" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (out += d.toString()));
      child.on("exit", (code) => resolve({ code, out }));
    });

  it(
    "completes the checkout journey: a paid order CONFIRMED, a declined one CANCELLED with its stock back",
    { timeout: 300_000 },
    async () => {
      const { code, out } = await demo(platform.gatewayUrl);
      expect(code, out).toBe(0);
      for (const line of [
        /inventory\s+RESERVED/,
        /payment\s+CAPTURED/,
        /inventory\s+CONFIRMED/,
        /order\s+CONFIRMED/,
        /payment\s+DECLINED/,
        /inventory\s+RELEASED/,
        /order\s+CANCELLED\s+payment declined \(card_declined\)/,
      ]) {
        expect(out).toMatch(line);
      }
      expect(out).toContain("demo: every expectation met");
    },
  );

  it("fails with a clear message and a non-zero exit when no gateway answers", { timeout: 60_000 }, async () => {
    const { code, out } = await demo("http://127.0.0.1:9/graphql");
    expect(code).toBe(1);
    expect(out).toContain("demo FAILED");
  });
});
