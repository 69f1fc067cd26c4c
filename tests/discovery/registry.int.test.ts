import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createLogger, createMetrics } from "@ecom/observability";
import { getFreePort } from "@ecom/testing";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createRegistryWatcher, registerInstance, registryKeys, schemaVersionOf, type RegistryWatcher } from "@ecom/discovery";

const run = inject("testRun");
const logger = createLogger({ service: "discovery-test", level: "silent" });
const clients: Redis[] = [];
const closers: Array<() => Promise<unknown>> = [];

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  for (const c of clients) c.disconnect();
});

function redis(url = run.redisUrl): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: false });
  client.on("error", () => {});
  clients.push(client);
  return client;
}

/** A key prefix of its own per test, inside the run's prefix. */
const freshPrefix = () => `${run.redisPrefix}disc-${randomBytes(3).toString("hex")}:`;

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<number> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - started;
}

async function watcher(prefix: string, client = redis(), resyncIntervalMs = 60_000): Promise<RegistryWatcher> {
  const w = createRegistryWatcher({ redis: client, prefix, logger, resyncIntervalMs, timeoutMs: 300 });
  await w.start();
  closers.push(() => w.close());
  return w;
}

const SDL = "type Query { hello: String }";

describe("the service registry", () => {
  it("lists registered instances with their record, and drops one at once when it deregisters", async () => {
    const prefix = freshPrefix();
    // A long periodic resync: only the announcement can make the change visible quickly.
    const w = await watcher(prefix);
    const one = await registerInstance({
      redis: redis(),
      prefix,
      service: "products",
      url: "http://127.0.0.1:4102/graphql",
      sdl: SDL,
      version: "v2",
      buildVersion: "abc123",
      tags: { zone: "a" },
      logger,
    });
    const two = await registerInstance({
      redis: redis(),
      prefix,
      service: "products",
      url: "http://127.0.0.1:4202/graphql",
      sdl: SDL,
      logger,
    });
    closers.push(
      () => one.stop(),
      () => two.stop(),
    );
    await until(() => w.instances("products").length === 2, "two instances");
    const record = w.instances("products").find((r) => r.id === one.record.id)!;
    expect(record).toMatchObject({
      service: "products",
      url: "http://127.0.0.1:4102/graphql",
      schemaVersion: schemaVersionOf(SDL),
      buildVersion: "abc123",
      tags: { zone: "a", version: "v2" },
    });
    expect(Date.parse(record.startedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(await w.schema("products", record.schemaVersion)).toBe(SDL);

    const changes: string[][] = [];
    w.onChange((services) => changes.push([...services]));
    await two.stop();
    const took = await until(() => w.instances("products").length === 1, "the deregistered instance to go");
    expect(took).toBeLessThan(1000);
    expect(changes).toEqual([["products"]]);
    expect(w.instances("products")[0]!.id).toBe(one.record.id);
  });

  it("forgets a crashed instance once its TTL lapses", async () => {
    const prefix = freshPrefix();
    const w = await watcher(prefix, redis(), 200);
    const own = redis();
    const crashing = await registerInstance({
      redis: own,
      prefix,
      service: "users",
      url: "http://127.0.0.1:4101/graphql",
      sdl: SDL,
      ttlMs: 600,
      logger,
    });
    await until(() => w.instances("users").length === 1, "the instance");
    // Its connection dies (as with SIGKILL): no heartbeat, no deregistration.
    own.disconnect();
    const gone = await until(() => w.instances("users").length === 0, "the TTL to lapse", 5000);
    expect(gone).toBeGreaterThan(300);
    void crashing;
  });

  it("heals a missed announcement with the periodic resync", async () => {
    const prefix = freshPrefix();
    const w = await watcher(prefix, redis(), 200);
    const keys = registryKeys(prefix);
    const client = redis();
    const record = {
      service: "search",
      id: "silent-1",
      url: "http://127.0.0.1:4103/graphql",
      schemaVersion: "x",
      buildVersion: "dev",
      tags: { version: "stable" },
      startedAt: new Date().toISOString(),
    };
    // Written without an announcement, as if the message had been lost.
    await client
      .multi()
      .set(keys.instance("search", "silent-1"), JSON.stringify(record), "PX", 10_000)
      .sadd(keys.index, "search/silent-1")
      .exec();
    await until(() => w.instances("search").length === 1, "the resync");
    // A corrupt record is skipped, not served.
    await client.multi().set(keys.instance("search", "bad"), "{not json", "PX", 10_000).sadd(keys.index, "search/bad").exec();
    await client
      .multi()
      .set(keys.instance("search", "bad2"), JSON.stringify({ ...record, id: "bad2", url: "ftp://x" }), "PX", 10_000)
      .sadd(keys.index, "search/bad2")
      .exec();
    await w.resync();
    expect(w.instances("search").map((r) => r.id)).toEqual(["silent-1"]);
  });

  it("registers again by itself when its record vanished (Redis restarted empty)", async () => {
    const prefix = freshPrefix();
    const w = await watcher(prefix);
    const client = redis();
    const reg = await registerInstance({
      redis: client,
      prefix,
      service: "orders",
      url: "http://127.0.0.1:4104/graphql",
      sdl: SDL,
      logger,
    });
    closers.push(() => reg.stop());
    await until(() => w.instances("orders").length === 1, "the instance");
    await client.del(registryKeys(prefix).instance("orders", reg.record.id));
    await w.resync();
    expect(w.instances("orders")).toHaveLength(0);
    await reg.heartbeat();
    await until(() => w.instances("orders").length === 1, "the re-registration");
  });

  it("keeps the last known list while the registry is down, says so, and recovers", async () => {
    const port = await getFreePort();
    const server: ChildProcess = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      {
        stdio: "ignore",
      },
    );
    closers.push(async () => void server.kill("SIGKILL"));
    const url = `redis://127.0.0.1:${port}/0`;
    const probe = redis(url);
    await until(() => probe.status === "ready", "the private Redis", 10_000);
    const prefix = freshPrefix();
    const metrics = createMetrics({ service: "discovery-test", defaultMetrics: false });
    const client = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
    client.on("error", () => {});
    clients.push(client);
    const w = createRegistryWatcher({
      redis: client,
      prefix,
      logger,
      resyncIntervalMs: 100,
      timeoutMs: 300,
      metricsRegistry: metrics.registry,
    });
    await w.start();
    closers.push(() => w.close());
    const reg = await registerInstance({
      redis: redis(url),
      prefix,
      service: "payments",
      url: "http://127.0.0.1:4105/graphql",
      sdl: SDL,
      logger,
    });
    await until(() => w.instances("payments").length === 1, "the instance");
    await expect(w.readinessCheck().check()).resolves.toBeUndefined();

    server.kill("SIGKILL");
    await until(() => !w.status().up, "the watcher to notice");
    expect(w.instances("payments")).toHaveLength(1);
    expect(w.status()).toMatchObject({ up: false, instances: 1 });
    expect(w.readinessCheck().critical).toBe(false);
    await expect(w.readinessCheck().check()).rejects.toThrow(/service registry unreachable .*last known instance list/);
    expect(await metrics.registry.getSingleMetricAsString("discovery_registry_up")).toMatch(/discovery_registry_up(\{[^}]*\})? 0$/m);

    // Back (empty, as a restarted Redis without persistence is): the heartbeat registers again.
    const again = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      stdio: "ignore",
    });
    closers.push(async () => void again.kill("SIGKILL"));
    await until(() => w.status().up, "the watcher to reconnect", 10_000);
    await reg.heartbeat().catch(() => {});
    await until(() => w.instances("payments").length === 1 && w.status().up, "the list after recovery", 10_000);
    expect(await metrics.registry.getSingleMetricAsString("discovery_registry_up")).toMatch(/discovery_registry_up(\{[^}]*\})? 1$/m);
    await reg.stop();
  });
});
