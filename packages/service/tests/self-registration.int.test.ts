import { createRequestSigner, devMasterKeyring, memoryNonceStore, pairKeyringFromMaster, serviceKeyring } from "@ecom/auth";
import { randomBytes } from "node:crypto";
import { createRegistryWatcher, schemaVersionOf } from "@ecom/discovery";
import { createLogger, createMetrics } from "@ecom/observability";
import {
  advertisedUrl,
  commonSubgraphOptions,
  createSubgraphServer,
  registrationFromEnv,
  type SelfRegistrationOptions,
} from "@ecom/service";
import { parse, print } from "graphql";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import type {} from "@ecom/testing";

const run = inject("testRun");
const logger = createLogger({ service: "self-registration-test", level: "silent" });
const redis = new Redis(run.redisUrl, { maxRetriesPerRequest: 1 });
afterAll(() => redis.disconnect());

const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
  type Query { hello: String }
`);

/** A one-field subgraph named products, registering itself as `registration` says. */
function helloServer(registration: SelfRegistrationOptions) {
  return createSubgraphServer({
    name: "products",
    typeDefs,
    resolvers: { Query: { hello: () => "hi" } },
    logger,
    metrics: createMetrics({ service: "products", defaultMetrics: false }),
    checks: [],
    signing: { keys: serviceKeyring(devMasterKeyring(), "products"), nonces: memoryNonceStore() },
    createLoaders: () => ({}),
    registration,
  });
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("subgraph self-registration", () => {
  it("registers once listening, and deregisters before it stops serving", async () => {
    const prefix = `${run.redisPrefix}selfreg-${randomBytes(3).toString("hex")}:`;
    const watcher = createRegistryWatcher({ redis, prefix, logger, resyncIntervalMs: 60_000 });
    await watcher.start();
    const server = await helloServer({ redisUrl: run.redisUrl, prefix, version: "v2", buildVersion: "abc", tags: { zone: "a" } });
    const { port } = await server.listen(0, "127.0.0.1");
    try {
      await until(() => watcher.instances("products").length === 1, "the registration");
      const record = watcher.instances("products")[0]!;
      expect(record).toMatchObject({
        url: `http://127.0.0.1:${port}/graphql`,
        schemaVersion: schemaVersionOf(print(typeDefs)),
        buildVersion: "abc",
        tags: { zone: "a", version: "v2" },
      });
      expect(await watcher.schema("products", record.schemaVersion)).toBe(print(typeDefs));

      const stopped = server.stop();
      await until(() => watcher.instances("products").length === 0, "the deregistration");
      // Gone from the registry while still answering: calls routed here a moment ago are still served.
      const body = JSON.stringify({ query: "{ hello }" });
      const sign = createRequestSigner({
        caller: "gateway",
        target: "products",
        keys: pairKeyringFromMaster(devMasterKeyring(), "gateway", "products"),
      });
      const headers = { "content-type": "application/json" };
      const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: "POST",
        headers: { ...headers, ...sign({ method: "POST", path: "/graphql", body, headers }) },
        body,
      });
      expect(await res.json()).toEqual({ data: { hello: "hi" } });
      await stopped;
    } finally {
      await server.stop();
      await watcher.close();
    }
  });

  it("reads registry mode from a subgraph's env, and static mode registers nothing", () => {
    const env = {
      NODE_ENV: "production",
      SIGNING_KEYS: serviceKeyring(devMasterKeyring(), "products"),
      DISCOVERY_MODE: "registry" as const,
      REDIS_URL: "redis://127.0.0.1:6379/0",
      CONTROL_PLANE_PREFIX: "ecom:",
      DISCOVERY_TTL: 3000,
      SERVICE_VERSION: "v2",
      BUILD_VERSION: "sha",
      SERVICE_TAGS: { zone: "b" },
    };
    expect(registrationFromEnv(env)).toEqual({
      redisUrl: "redis://127.0.0.1:6379/0",
      prefix: "ecom:",
      ttlMs: 3000,
      advertiseUrl: undefined,
      version: "v2",
      buildVersion: "sha",
      tags: { zone: "b" },
      production: true,
    });
    const deps = {
      env: { ...env, DISCOVERY_MODE: "static" as const },
      logger,
      metrics: createMetrics({ service: "x", defaultMetrics: false }),
      db: { check: async () => {} },
    };
    expect(commonSubgraphOptions("products", deps)).not.toHaveProperty("registration");
    expect(advertisedUrl("0.0.0.0", 4002, false)).toBe("http://127.0.0.1:4002/graphql");
    expect(advertisedUrl("::1", 4002, false)).toBe("http://[::1]:4002/graphql");
  });

  it("fails to start with a message naming the fix when the registry is unreachable", async () => {
    const server = await helloServer({ redisUrl: "redis://127.0.0.1:1/0", prefix: "nowhere:" });
    try {
      await expect(server.listen(0, "127.0.0.1")).rejects.toThrow(
        /Cannot register products in the service registry .*DISCOVERY_MODE=static/,
      );
    } finally {
      await server.stop();
    }
  });
});
