import { randomBytes } from "node:crypto";
import { createLogger, createMetrics } from "@ecom/observability";
import type {} from "@ecom/testing";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import {
  createLiveConfigStore,
  liveConfigKeys,
  platformConfigSchema,
  runConfigCli,
  subscribeLiveConfig,
  type PlatformConfig,
} from "../src/index.ts";

const run = inject("testRun");
const logger = createLogger({ service: "live-config-test", level: "silent" });
const clients: Redis[] = [];
const closers: Array<() => Promise<unknown>> = [];

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  for (const c of clients) c.disconnect();
});

function redis(): Redis {
  const client = new Redis(run.redisUrl, { maxRetriesPerRequest: 1 });
  clients.push(client);
  return client;
}

const freshPrefix = () => `${run.redisPrefix}cfg-${randomBytes(3).toString("hex")}:`;

function captured() {
  let text = "";
  return { write: (s: string) => ((text += s), true), text: () => text };
}

async function until(condition: () => boolean, what: string, timeoutMs = 3000): Promise<number> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return performance.now() - started;
}

/** A process's subscription that records what it applied. */
async function subscriber(prefix: string, apply?: (config: PlatformConfig) => void) {
  const seen: Array<{ version: number; config: PlatformConfig }> = [];
  const metrics = createMetrics({ service: "live-config-test", defaultMetrics: false });
  const sub = subscribeLiveConfig({
    redis: redis(),
    prefix,
    schema: platformConfigSchema,
    logger,
    metricsRegistry: metrics.registry,
    // Long: only the announcement can make a change visible within the test's bounds.
    resyncIntervalMs: 60_000,
    apply: (config, version) => {
      apply?.(config);
      seen.push({ version: version.version, config });
    },
  });
  await sub.start();
  closers.push(() => sub.close());
  return { sub, seen, metrics };
}

async function cli(prefix: string, ...argv: string[]) {
  const out = captured();
  const err = captured();
  const store = createLiveConfigStore({ redis: redis(), prefix, schema: platformConfigSchema });
  const code = await runConfigCli(argv, { store, out, err, defaultAuthor: "tester" });
  return { code, out: out.text(), err: err.text() };
}

describe("the live configuration", () => {
  it("applies a change in every subscribed process within a second, with its version", async () => {
    const prefix = freshPrefix();
    const one = await subscriber(prefix);
    const two = await subscriber(prefix);
    expect(one.sub.current().version).toBe(0);
    expect(one.sub.current().config.balancer.strategy).toBe("least-in-flight");

    const started = performance.now();
    const set = await cli(prefix, "set", "canary.products", '{"version":"v2","weight":10}', "-m", "start the canary");
    expect(set).toMatchObject({ code: 0, err: "" });
    expect(set.out).toContain('version 1: canary.products: (default) -> {"version":"v2","weight":10}');
    await until(() => one.sub.current().version === 1 && two.sub.current().version === 1, "both processes");
    expect(performance.now() - started).toBeLessThan(1000);
    expect(two.sub.current().config.canary).toEqual({ products: { version: "v2", weight: 10 } });
    expect(await one.metrics.registry.getSingleMetricAsString("live_config_version")).toMatch(/ 1$/m);
    expect(await one.metrics.registry.getSingleMetricAsString("live_config_changes_total")).toMatch(/outcome="applied"[^\n]* 1$/m);
  });

  it("refuses an invalid value with a clear message, and changes nothing anywhere", async () => {
    const prefix = freshPrefix();
    const proc = await subscriber(prefix);
    expect((await cli(prefix, "set", "balancer.strategy", "round-robin")).code).toBe(0);
    await until(() => proc.sub.current().version === 1, "version 1");

    const tooBig = await cli(prefix, "set", "canary.products", '{"version":"v2","weight":150}');
    expect(tooBig.code).toBe(1);
    expect(tooBig.err).toMatch(
      /^Refused: canary\.products\.weight: Too big: expected number to be <=100\. Nothing was changed \(still version 1\)\.$/m,
    );
    const typo = await cli(prefix, "set", "balancer.stratgy", "random");
    expect(typo.code).toBe(1);
    expect(typo.err).toContain("Refused: balancer: Unrecognized key");
    const badEnum = await cli(prefix, "set", "balancer.strategy", "random");
    expect(badEnum.err).toMatch(/balancer\.strategy: Invalid option: expected one of "round-robin"\|"least-in-flight"/);

    const history = await cli(prefix, "history");
    expect(history.out.trim().split("\n")).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 100));
    expect(proc.sub.current().version).toBe(1);
    expect(proc.seen.at(-1)!.config.balancer.strategy).toBe("round-robin");
  });

  it("keeps the last good version when a document that fails validation is written behind the CLI's back", async () => {
    const prefix = freshPrefix();
    const proc = await subscriber(prefix);
    await cli(prefix, "set", "flags.newCheckout", "true");
    await until(() => proc.sub.current().version === 1, "version 1");
    const keys = liveConfigKeys(prefix);
    const client = redis();
    const bad = {
      version: 2,
      doc: { canary: { products: { version: "v2", weight: -5 } } },
      at: "",
      author: "hand",
      message: "",
      changed: [],
    };
    await client.set(keys.current, JSON.stringify(bad));
    await client.publish(keys.channel, "2");
    const deadline = Date.now() + 3000;
    while (!/outcome="rejected"[^\n]* 1$/m.test(await proc.metrics.registry.getSingleMetricAsString("live_config_changes_total"))) {
      if (Date.now() > deadline) throw new Error("the bad version was never refused");
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(proc.sub.current().version).toBe(1);
    expect(proc.sub.current().config.flags).toEqual({ newCheckout: true });
  });

  it("keeps the last good version when applying a version fails in the process", async () => {
    const prefix = freshPrefix();
    const proc = await subscriber(prefix, (config) => {
      if (config.flags["explode"]) throw new Error("the policy refused it");
    });
    await cli(prefix, "set", "flags.explode", "true");
    await new Promise((r) => setTimeout(r, 300));
    expect(proc.sub.current().version).toBe(0);
    await cli(prefix, "set", "flags.explode", "false");
    await until(() => proc.sub.current().version === 2, "the next good version");
  });

  it("shows history and diffs, and a rollback restores the previous version as a new one", async () => {
    const prefix = freshPrefix();
    const proc = await subscriber(prefix);
    await cli(prefix, "set", "canary.products", '{"version":"v2","weight":10}', "--author", "alice", "-m", "canary");
    await cli(prefix, "set", "canary.products.weight", "50");
    await cli(prefix, "set", "balancer.outlierDetection.consecutiveFailures", "7");
    await until(() => proc.sub.current().version === 3, "version 3");

    const diff = await cli(prefix, "diff");
    expect(diff.out).toBe("v2 -> v3: 1 change\n  + balancer.outlierDetection.consecutiveFailures: 7\n");
    expect((await cli(prefix, "diff", "1", "2")).out).toBe("v1 -> v2: 1 change\n  ~ canary.products.weight: 10 -> 50\n");
    const history = (await cli(prefix, "history")).out.trim().split("\n");
    expect(history).toHaveLength(3);
    expect(history[0]).toMatch(/^v3 .* tester {2}balancer\.outlierDetection\.consecutiveFailures$/);
    expect(history[2]).toMatch(/^v1 .* alice {2}canary\.products\.version, canary\.products\.weight {2}"canary"$/);

    const rollback = await cli(prefix, "rollback");
    expect(rollback.code).toBe(0);
    expect(rollback.out).toContain("version 4: restored the document of version 2");
    await until(() => proc.sub.current().version === 4, "the rollback");
    expect(proc.sub.current().config.balancer.outlierDetection.consecutiveFailures).toBe(3);
    expect(proc.sub.current().config.canary["products"]!.weight).toBe(50);

    expect((await cli(prefix, "rollback", "v1")).code).toBe(0);
    await until(() => proc.sub.current().version === 5, "the rollback to v1");
    expect(proc.sub.current().config.canary["products"]!.weight).toBe(10);
    const refused = await cli(prefix, "rollback", "9");
    expect(refused).toMatchObject({ code: 1 });
    expect(refused.err).toContain("roll back to an earlier version (1 to 4, or 0 for the defaults)");
  });

  it("gets effective values with their defaults, unsets keys, and explains usage errors", async () => {
    const prefix = freshPrefix();
    const strategy = await cli(prefix, "get", "balancer.strategy");
    expect(strategy.out).toBe('"least-in-flight"\n# version 0; default value\n');
    await cli(prefix, "set", "balancer.strategy", "round-robin");
    expect((await cli(prefix, "get", "balancer.strategy")).out).toBe('"round-robin"\n# version 1; set explicitly\n');
    expect(JSON.parse((await cli(prefix, "get")).out.split("\n").slice(1).join("\n"))).toMatchObject({
      balancer: { strategy: "round-robin" },
    });
    expect((await cli(prefix, "unset", "balancer.strategy")).out).toBe("version 2: balancer.strategy back to its default\n");
    expect((await cli(prefix, "get", "nope.nothing")).code).toBe(1);
    expect((await cli(prefix, "set", "only-a-key")).code).toBe(2);
    expect((await cli(prefix, "frobnicate")).err).toContain("Unknown command");
    const proto = await cli(prefix, "set", "__proto__.x", "1");
    expect(proto).toMatchObject({ code: 2 });
    expect(proto.err).toContain('"__proto__" cannot be part of a key');
  });
});
