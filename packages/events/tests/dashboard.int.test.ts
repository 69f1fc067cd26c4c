/**
 * The queue dashboard (bull-board) loads in headless Chromium and shows the queues of the topology. The browser is
 * Debian's `chromium` driven by playwright-core; the set-up installs it with apt-get when it is missing, and the test
 * is skipped (saying why) only where no browser can be installed.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Queue } from "bullmq";
import express from "express";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createQueueDashboard } from "../src/dashboard.ts";
import { allQueueNames, eventQueueName } from "../src/index.ts";
import { privatePrefix, redisOf } from "./support.ts";

const CHROMIUM = "/usr/bin/chromium";

/** Installs Debian's chromium when missing; resolves with why it cannot be had, or null when it is there. */
function ensureChromium(): string | null {
  if (existsSync(CHROMIUM)) return null;
  const apt = spawnSync("sh", ["-c", "command -v apt-get"], { encoding: "utf8" });
  if (apt.status !== 0) return "no /usr/bin/chromium and no apt-get to install it";
  try {
    process.stderr.write("[dashboard test] installing chromium with apt-get (once per machine)...\n");
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env, timeout: 300_000 });
    execFileSync("apt-get", ["install", "-y", "-qq", "chromium"], { stdio: "inherit", env, timeout: 600_000 });
  } catch (error) {
    return `chromium could not be installed with apt-get: ${(error as Error).message}`;
  }
  return existsSync(CHROMIUM) ? null : "apt-get ran but /usr/bin/chromium is still missing";
}

const missing = ensureChromium();
if (missing) process.stderr.write(`[dashboard test] SKIPPED: ${missing}\n`);

describe.skipIf(missing !== null)("queue dashboard", () => {
  const run = inject("testRun");
  const redis = redisOf(run);
  const prefix = privatePrefix(run);
  const dashboard = createQueueDashboard({ connection: redis, prefix });
  const server = http.createServer(express().use(dashboard.basePath, dashboard.router));
  let browser: Browser | undefined;
  let origin = "";

  beforeAll(async () => {
    // A waiting job, so that a count shows too.
    const queue = new Queue(eventQueueName("search"), { connection: redis, prefix });
    await queue.add("product.created.v1", { id: "x" }, { jobId: "dashboard-test-job" });
    await queue.close();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await dashboard.close();
    redis.disconnect();
  });

  it("loads in headless Chromium and lists every queue of the topology", { timeout: 60_000 }, async () => {
    const page = await browser!.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const response = await page.goto(`${origin}${dashboard.basePath}`, { waitUntil: "domcontentloaded" });
    expect(response?.status()).toBe(200);
    for (const name of allQueueNames()) await page.getByText(name, { exact: true }).first().waitFor({ timeout: 30_000 });
    expect(await page.title()).toContain("ecom queues");
    expect(errors).toEqual([]);
    await page.screenshot({ path: `${process.env["TMPDIR"] ?? "/tmp"}/queue-dashboard.png` });
  });
});
