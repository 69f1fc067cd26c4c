/**
 * Hot reload with real processes: the gateway (tsx, as `npm start` runs it) watching a supergraph file in a temp
 * folder, and the users subgraph over a private clone of its database. While clients keep querying users through
 * the gateway, the file is replaced by a smaller supergraph, by a file that does not parse, by a schema that is not
 * a supergraph, and by the original again: not one request fails, the valid versions are served, the broken ones
 * change nothing.
 */
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { composeServices } from "@apollo/composition";
import { parse } from "graphql";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  createTestDatabase,
  ROOT_DIR,
  startService,
  unreachableSubgraphs,
  waitFor,
  type RunningService,
  type TestDatabase,
} from "@ecom/testing";
import { DEFAULT_SUPERGRAPH_PATH } from "../src/env.ts";

/** The supergraph of every subgraph folder except `without`. */
function composeWithout(without: string): string {
  const base = path.join(ROOT_DIR, "subgraphs");
  const services = readdirSync(base)
    .filter((name) => name !== without)
    .map((name) => ({
      name,
      url: `http://127.0.0.1:1/${name}`,
      typeDefs: parse(readFileSync(path.join(base, name, "src", "schema.graphql"), "utf8")),
    }));
  const result = composeServices(services);
  if (result.errors) throw new Error(result.errors.map((e) => e.message).join("\n"));
  return result.supergraphSdl;
}

async function post(url: string, query: string) {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query }) });
  return { status: res.status, body: (await res.json()) as { data?: Record<string, unknown> | null; errors?: unknown[] } };
}

const until = (what: string, predicate: () => Promise<boolean> | boolean, output: () => string) =>
  waitFor(what, predicate, { timeoutMs: 20_000, diagnostics: () => `Gateway output:\n${output().slice(-4000)}` });

describe("supergraph hot reload under load", () => {
  let db: TestDatabase;
  let users: RunningService;
  let gateway: RunningService;
  let dir: string;
  let file: string;
  let gatewayUrl: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "reload-e2e-"));
    file = path.join(dir, "supergraph.graphql");
    copyFileSync(DEFAULT_SUPERGRAPH_PATH, file);
    db = await createTestDatabase(inject("testRun"), "users");
    users = await startService("users", { env: { DATABASE_URL: db.url }, readyPath: "/health/ready" });
    gateway = await startService("gateway", {
      env: {
        SUPERGRAPH_PATH: file,
        SUPERGRAPH_WATCH_INTERVAL: "100ms",
        SUBGRAPH_USERS_URL: users.url,
        JWKS_URL: `${users.origin}/.well-known/jwks.json`,
        SUBGRAPH_TIMEOUT: "10s",
        // Rate-limit counters and live configuration of this file only: under the default prefix they are shared
        // with every gateway on the machine (register-ip allows 10 a 10 minutes per address).
        CONTROL_PLANE_PREFIX: `${inject("testRun").redisPrefix}reload-e2e:`,
        ...(await unreachableSubgraphs(["users"])),
      },
      readyPath: "/health/live",
    });
    gatewayUrl = gateway.url;
  });

  afterAll(async () => {
    await gateway?.stop();
    await users?.stop();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("serves every request while the file is replaced, and refuses broken files without changing anything", async () => {
    const original = readFileSync(file, "utf8");
    // Introspection is off outside development: the probe is whether a query naming the type's field validates.
    const notificationsType = async () => {
      const { body } = await post(gatewayUrl, "{ me { notifications { id } } }");
      const errors = (body.errors ?? []) as Array<{ extensions?: Record<string, unknown> }>;
      return errors.some((e) => e.extensions?.["code"] === "GRAPHQL_VALIDATION_FAILED") ? null : { name: "Notification" };
    };
    expect(await notificationsType()).toEqual({ name: "Notification" });

    // Load: clients querying the users subgraph through the gateway, back to back, until told to stop.
    const failures: string[] = [];
    let served = 0;
    let loading = true;
    const client = async () => {
      while (loading) {
        try {
          const { status, body } = await post(gatewayUrl, "{ me { id } }");
          if (status !== 200 || body.errors || body.data?.["me"] !== null) failures.push(`${status} ${JSON.stringify(body)}`);
          else served += 1;
        } catch (error) {
          failures.push(String(error));
        }
      }
    };
    const clients = Array.from({ length: 6 }, client);
    const output = () => gateway.output();
    const logged = (message: string) => () =>
      output()
        .split("\n")
        .filter((l) => l.includes(message)).length;
    const reloaded = logged('"msg":"supergraph reloaded"');
    const refused = logged('"msg":"supergraph refused');

    try {
      await until("some load", () => served > 50, output);

      // A smaller supergraph, written in place (truncate, then write): notifications disappears from the schema.
      writeFileSync(file, composeWithout("notifications"));
      // The log line can reach the pipe a moment after the new schema serves: wait for both.
      await until("the reload without notifications", async () => (await notificationsType()) === null && reloaded() === 1, output);
      const afterFirst = served;
      await until("load on the new supergraph", () => served > afterFirst + 50, output);

      // Unparsable, then parsable but not a supergraph: each refused with a log line, nothing changes.
      writeFileSync(file, "type Query {");
      await until("the refusal of an unparsable file", () => refused() === 1, output);
      expect(output()).toContain("supergraph refused (unparsable)");
      writeFileSync(file, "type Query { hello: String }");
      await until("the refusal of a file that is not a supergraph", () => refused() === 2, output);
      expect(output()).toContain("supergraph refused (invalid)");
      expect(await notificationsType()).toBeNull();
      const metrics = await (await fetch(new URL("/metrics", gatewayUrl))).text();
      expect(metrics).toMatch(/^gateway_supergraph_reloads_total\{outcome="rejected"[^}]*\} 2$/m);
      expect(metrics).toMatch(/^gateway_supergraph_reloads_total\{outcome="applied"[^}]*\} 1$/m);

      // The original again, replaced by rename this time.
      writeFileSync(`${file}.next`, original);
      renameSync(`${file}.next`, file);
      await until("the original supergraph back", async () => (await notificationsType()) !== null && reloaded() === 2, output);
      const afterLast = served;
      await until("load on the restored supergraph", () => served > afterLast + 50, output);
    } finally {
      loading = false;
      await Promise.all(clients);
    }
    expect(failures).toEqual([]);
    expect(reloaded()).toBe(2);
  }, 90_000);
});
