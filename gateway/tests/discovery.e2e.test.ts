/**
 * Registry mode with real processes: products instances register in Redis, gateways balance across them, fail
 * over, take canary shares and apply live configuration. Only products runs (the query below touches nothing
 * else), so the file starts in seconds rather than a whole platform's minute.
 */
import { randomBytes, randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { readFileSync } from "node:fs";
import { createTokenIssuer, jwksOf, loadSigningKey } from "@ecom/auth";
import { createLogger } from "@ecom/observability";
import { registerInstance } from "@ecom/discovery";
import { ROOT_DIR, createTestDatabase, runSeed, startService, waitFor, type RunningProcess, type TestDatabase } from "@ecom/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { runConfig } from "./config-cli.ts";

const run = inject("testRun");
const prefix = `${run.redisPrefix}e2e-disc-${randomBytes(3).toString("hex")}:`;
// `first` varies so that in-flight dedup (identical concurrent reads share one subgraph call) does not hide calls.
const queryBody = (first: number) =>
  JSON.stringify({ query: "query P($first: Int) { products(first: $first) { edges { node { name } } } }", variables: { first } });

const started: RunningProcess[] = [];
let db: TestDatabase;
let redis: Redis;
// The users' JWKS, served from the test (users does not run here): the gateway verifies these users' tokens.
let jwks: http.Server;
let jwksUrl: string;
let issueToken: (userId: string) => Promise<string>;

/** Milliseconds until `condition` held. */
const until = async (condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 15_000): Promise<number> =>
  (await waitFor(what, condition, { timeoutMs, intervalMs: 20 })).ms;

interface Instance {
  proc: RunningProcess;
  origin: string;
}

async function startProducts(version = "stable"): Promise<Instance> {
  const proc = await startService("products", {
    name: `products-${version}`,
    env: {
      DATABASE_URL: db.url,
      REDIS_URL: run.redisUrl,
      CONTROL_PLANE_PREFIX: prefix,
      DISCOVERY_MODE: "registry",
      DISCOVERY_TTL: "3s",
      SERVICE_VERSION: version,
    },
    onSpawn: (p) => started.push(p),
  });
  return { proc, origin: proc.origin };
}

async function startGateway(): Promise<string> {
  const proc = await startService("gateway", {
    env: {
      REDIS_URL: run.redisUrl,
      CONTROL_PLANE_PREFIX: prefix,
      DISCOVERY_MODE: "registry",
      DISCOVERY_RESYNC: "1s",
      SUPERGRAPH_WATCH: "false",
      SUBGRAPH_TIMEOUT: "10s",
      JWKS_URL: jwksUrl,
      // Nothing listens there: every call must go to a registered instance.
      SUBGRAPH_PRODUCTS_URL: "http://127.0.0.1:9/graphql",
    },
    onSpawn: (p) => started.push(p),
  });
  return proc.origin;
}

/** Requests to `/graphql` served by an instance so far (its own metrics). */
async function servedBy(instance: Instance): Promise<number> {
  const text = await (await fetch(`${instance.origin}/metrics`)).text();
  let total = 0;
  for (const m of text.matchAll(/^http_request_duration_seconds_count\{([^}]*)\} (\d+)$/gm)) {
    if (m[1]!.includes('route="/graphql"')) total += Number(m[2]);
  }
  return total;
}

async function query(gateway: string, headers: Record<string, string> = {}, first = 3): Promise<string | undefined> {
  try {
    const res = await fetch(`${gateway}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: queryBody(first),
    });
    const body = (await res.json()) as { data?: { products?: { edges: unknown[] } }; errors?: unknown[] };
    if (res.status !== 200 || body.errors || !body.data?.products) return `HTTP ${res.status} ${JSON.stringify(body).slice(0, 300)}`;
    return undefined;
  } catch (error) {
    return String(error);
  }
}

/** Load on the gateway until stopped: `concurrency` loops, every failure kept. */
function load(gateway: string, concurrency = 6) {
  let running = true;
  const failures: string[] = [];
  let ok = 0;
  const loops = Array.from({ length: concurrency }, async (_, i) => {
    while (running) {
      const failure = await query(gateway, {}, i + 1);
      if (failure) failures.push(failure);
      else ok++;
    }
  });
  return {
    failures,
    ok: () => ok,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function stopGracefully(instance: Instance): Promise<void> {
  instance.proc.child.kill("SIGTERM");
  await instance.proc.exited;
}

const cli = (...argv: string[]) => runConfig(redis, prefix, argv);

async function configVersionOf(gateway: string): Promise<number> {
  const text = await (await fetch(`${gateway}/metrics`)).text();
  return Number(/^live_config_version(?:\{[^}]*\})? (\d+)$/m.exec(text)?.[1] ?? -1);
}

let gateway: string;

beforeAll(async () => {
  const key = await loadSigningKey();
  const issue = createTokenIssuer(key, { issuer: "ecom-users", audience: "ecom-gateway", ttlSeconds: 600 });
  issueToken = (id) => issue({ id, role: "CUSTOMER" });
  jwks = http.createServer((_req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(jwksOf(key)));
  });
  await new Promise<void>((resolve) => jwks.listen(0, "127.0.0.1", resolve));
  jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
  redis = new Redis(run.redisUrl, { maxRetriesPerRequest: 1 });
  db = await createTestDatabase(run, "products");
  await runSeed("products", db.url);
  gateway = await startGateway();
});

afterAll(async () => {
  await Promise.allSettled(started.map((p) => p.stop(3000)));
  redis?.disconnect();
  await db?.drop();
  jwks?.close();
});

describe("registry mode", () => {
  it("survives a SIGKILLed instance under load, sends traffic to a new one within seconds, and loses nothing on a graceful stop", async () => {
    const [a, b] = await Promise.all([startProducts(), startProducts()]);
    await until(async () => (await query(gateway)) === undefined, "the gateway to serve products");
    const traffic = load(gateway);
    await until(async () => (await servedBy(a)) > 5 && (await servedBy(b)) > 5, "both instances to get traffic");

    // SIGKILL: no deregistration; its in-flight calls fail at the socket and are retried on b.
    process.kill(-a.proc.child.pid!, "SIGKILL");
    const before = traffic.ok();
    await until(() => traffic.ok() > before + 100, "100 more answers after the kill", 30_000);
    expect(traffic.failures).toEqual([]);

    const c = await startProducts();
    const tookMs = await until(async () => (await servedBy(c)) > 5, "the new instance to get traffic", 10_000);
    expect(tookMs).toBeLessThan(10_000);

    await stopGracefully(b);
    const afterStop = traffic.ok();
    await until(() => traffic.ok() > afterStop + 100, "100 answers after the graceful stop", 30_000);
    await traffic.stop();
    expect(traffic.failures).toEqual([]);
    await stopGracefully(c);
  });

  it("sends a canary at weight 10% its share of 2,000 requests, pins on x-canary, and applies changes live in two gateways", async () => {
    const [stable, canary] = await Promise.all([startProducts("stable"), startProducts("v2")]);
    const second = await startGateway();
    const gateways = [gateway, second];
    const served = async () => [await servedBy(stable), await servedBy(canary)] as const;
    // Both gateways route to both instances (and the dead ones of the previous test are gone from the registry).
    await until(async () => {
      const [s0, c0] = await served();
      for (let i = 0; i < 10; i++) for (const g of gateways) await query(g);
      const [s1, c1] = await served();
      return s1 > s0 && c1 > c0;
    }, "both instances in rotation");

    const base = await configVersionOf(gateway);
    const set = await cli("set", "canary.products", '{"version":"v2","weight":10}', "-m", "canary 10%");
    expect(set.code).toBe(0);
    const applied = await until(
      async () => (await Promise.all(gateways.map(configVersionOf))).every((v) => v === base + 1),
      "both gateways to apply it",
      5000,
    );
    expect(applied).toBeLessThan(1000);

    const [s0, c0] = await served();
    let failures = 0;
    for (let batch = 0; batch < 100; batch++) {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => query(gateways[i % 2]!, {}, i + 1)));
      failures += results.filter(Boolean).length;
    }
    const [s1, c1] = await served();
    expect(failures).toBe(0);
    const share = (c1 - c0) / (c1 - c0 + (s1 - s0));
    expect(c1 - c0 + (s1 - s0)).toBe(2000);
    expect(share).toBeGreaterThanOrEqual(0.08);
    expect(share).toBeLessThanOrEqual(0.12);

    const [, pinned0] = await served();
    for (let i = 0; i < 20; i++) expect(await query(gateways[i % 2]!, { "x-canary": "always" })).toBeUndefined();
    expect((await served())[1] - pinned0).toBe(20);

    // An invalid value is refused with a clear message, and nothing changes anywhere.
    const refused = await cli("set", "balancer.outlierDetection.consecutiveFailures", "0");
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(
      /^Refused: balancer\.outlierDetection\.consecutiveFailures: Too small: expected number to be >=1\. Nothing was changed/,
    );
    expect(await Promise.all(gateways.map(configVersionOf))).toEqual([base + 1, base + 1]);

    // A breaker threshold and the canary weight: live in both gateways within a second; all traffic to the canary.
    expect((await cli("set", "resilience.overrides.products.breaker.consecutiveFailures", "20")).code).toBe(0);
    expect((await cli("set", "canary.products.weight", "100")).code).toBe(0);
    const both = await until(
      async () => (await Promise.all(gateways.map(configVersionOf))).every((v) => v === base + 3),
      "both gateways",
      5000,
    );
    expect(both).toBeLessThan(1000);
    const [s2] = await served();
    for (let i = 0; i < 20; i++) expect(await query(gateways[i % 2]!)).toBeUndefined();
    expect((await served())[0]).toBe(s2);

    // Rollback restores the previous version (weight 10) everywhere.
    const rollback = await cli("rollback");
    expect(rollback.out).toContain(`restored the document of version ${base + 2}`);
    await until(async () => (await Promise.all(gateways.map(configVersionOf))).every((v) => v === base + 4), "the rollback", 5000);
    expect((await cli("get", "canary.products.weight")).out).toMatch(/^10\n/);
    const [s3] = await served();
    for (let i = 0; i < 60; i++) await query(gateways[i % 2]!);
    expect((await served())[0]).toBeGreaterThan(s3);
  });

  it("keeps each user on one version through either gateway, and splits the users by the weight", async () => {
    await Promise.all([startProducts("stable"), startProducts("v2")]);
    const second = await startGateway();
    const gateways = [gateway, second];
    // Calls per version (over every instance of it, whichever test started them), as each gateway counts them.
    const perVersion = async () => {
      const counts: Record<string, number> = {};
      for (const g of gateways) {
        const text = await (await fetch(`${g}/metrics`)).text();
        for (const m of text.matchAll(/^gateway_subgraph_instance_requests_total\{([^}]*)\} (\d+)$/gm)) {
          const version = /version="([^"]*)"/.exec(m[1]!)?.[1];
          if (m[1]!.includes('subgraph="products"') && version) counts[version] = (counts[version] ?? 0) + Number(m[2]);
        }
      }
      return counts;
    };
    const delta = (before: Record<string, number>, after: Record<string, number>) =>
      Object.fromEntries(
        Object.entries(after)
          .map(([v, n]) => [v, n - (before[v] ?? 0)])
          .filter(([, n]) => (n as number) > 0),
      );
    await until(async () => {
      const before = await perVersion();
      for (let i = 0; i < 20; i++) await query(gateways[i % 2]!, {}, i + 1);
      const got = delta(before, await perVersion());
      return (got["stable"] ?? 0) > 0 && (got["v2"] ?? 0) > 0;
    }, "both versions in rotation in both gateways");

    const base = await configVersionOf(gateway);
    expect((await cli("set", "canary.products", '{"version":"v2","weight":50}', "-m", "canary 50%")).code).toBe(0);
    await until(async () => (await Promise.all(gateways.map(configVersionOf))).every((v) => v > base), "both gateways to apply it", 5000);

    // Anonymous requests have no user to stick to: they land on both versions.
    const anonymousBefore = await perVersion();
    for (let i = 0; i < 40; i++) expect(await query(gateways[i % 2]!, {}, (i % 5) + 1)).toBeUndefined();
    expect(Object.keys(delta(anonymousBefore, await perVersion())).sort()).toEqual(["stable", "v2"]);

    // A user's requests, spread over both gateways, all reach one version; users are one at a time, so the
    // gateways' counters say which.
    const users = 60;
    const onCanary: string[] = [];
    for (let u = 0; u < users; u++) {
      const userId = randomUUID();
      const headers = { authorization: `Bearer ${await issueToken(userId)}` };
      const before = await perVersion();
      const failures = await Promise.all(Array.from({ length: 6 }, (_, i) => query(gateways[i % 2]!, headers, i + 1)));
      expect(failures.filter(Boolean)).toEqual([]);
      const served = delta(before, await perVersion());
      expect(Object.keys(served), `user ${u} (${userId}) served by ${JSON.stringify(served)}`).toHaveLength(1);
      expect(Object.values(served)).toEqual([6]);
      if (served["v2"]) onCanary.push(userId);
    }
    // About half the users on the canary (binomial, 60 users at 50%: 15 to 45 holds at more than 3.8 sigma).
    expect(onCanary.length).toBeGreaterThanOrEqual(15);
    expect(onCanary.length).toBeLessThanOrEqual(45);

    // And a canary user stays there on later requests.
    const again = onCanary[0]!;
    const before = await perVersion();
    const headers = { authorization: `Bearer ${await issueToken(again)}` };
    for (let i = 0; i < 10; i++) expect(await query(gateways[i % 2]!, headers, i + 1)).toBeUndefined();
    expect(delta(before, await perVersion())).toEqual({ v2: 10 });
  });

  it("adds a compatible schema's field under load with zero failures, and refuses an incompatible one, changing nothing", async () => {
    const real = await startProducts();
    const sdl = readFileSync(path.join(ROOT_DIR, "subgraphs", "products", "src", "schema.graphql"), "utf8");
    // Introspection is off outside development: a field is in the gateway's schema when a query selecting it passes
    // the gateway's validation (the process behind the new registration does not serve the field: its answer
    // does not matter here).
    const hasProductField = async (field: string) => {
      const res = await fetch(`${gateway}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: `{ products(first: 1) { edges { node { ${field} } } } }` }),
      });
      const body = (await res.json()) as { errors?: Array<{ message: string; extensions?: { code?: string; serviceName?: string } }> };
      // The gateway's own refusal; one that a subgraph sent back names its service.
      return !(body.errors ?? []).some(
        (e) => e.extensions?.code === "GRAPHQL_VALIDATION_FAILED" && !e.extensions.serviceName && e.message.includes(`"${field}"`),
      );
    };
    const outcomes = async () =>
      (await (await fetch(`${gateway}/metrics`)).text()).match(/^gateway_schema_recompositions_total\{[^}]*\} \d+$/gm) ?? ([] as string[]);
    await until(async () => (await query(gateway)) === undefined, "products served");
    expect(await hasProductField("releaseNote")).toBe(false);
    expect(await hasProductField("description")).toBe(true);
    const logger = createLogger({ service: "e2e", level: "silent" });
    const traffic = load(gateway);

    // The same process, registered a second time with one more (nullable) field: a compatible new schema version.
    const compatible = await registerInstance({
      redis,
      prefix,
      service: "products",
      url: `${real.origin}/graphql`,
      sdl: sdl.replace("  description: String!\n", "  description: String!\n  releaseNote: String\n"),
      version: "next",
      logger,
    });
    await until(() => hasProductField("releaseNote"), "the new field in the gateway's schema", 15_000);

    // An instance whose schema drops a field clients use: refused, the schema keeps the field, it gets no traffic.
    const before = await outcomes();
    const incompatible = await registerInstance({
      redis,
      prefix,
      service: "products",
      url: "http://127.0.0.1:9/graphql",
      sdl: sdl.replace("  description: String!\n", ""),
      version: "broken",
      logger,
    });
    await until(
      async () => (await outcomes()).some((l) => l.includes('outcome="refused_breaking"') && !before.includes(l)),
      "the refusal",
      15_000,
    );
    const after = traffic.ok();
    await until(() => traffic.ok() > after + 50, "more answers after the refusal", 30_000);
    await traffic.stop();
    expect(traffic.failures).toEqual([]);
    expect(await hasProductField("description")).toBe(true);
    expect(await hasProductField("releaseNote")).toBe(true);
    expect(await (await fetch(`${gateway}/metrics`)).text()).not.toMatch(/gateway_subgraph_instance_requests_total\{[^}]*version="broken"/);
    await incompatible.stop();
    await compatible.stop();
    await stopGracefully(real);
  });
});
