import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "@ecom/observability";
import { rejectionOf } from "@ecom/testing";
import { isSupergraphRejectedError } from "../src/supergraph.ts";
import { watchSupergraphFile } from "../src/supergraph-watcher.ts";
import {
  ACCOUNTS_SDL,
  CATALOG_SDL,
  LEGACY_SDL,
  composeFixture,
  gql,
  startAccounts,
  startCatalog,
  startGateway,
  startRawSubgraph,
  type FixtureSubgraph,
} from "./helpers.ts";

/** The value of one series of a Prometheus text exposition (0 when absent). */
function series(text: string, name: string, labels: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(" ").pop()) : 0;
}

async function until(predicate: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("supergraph reload", () => {
  let accounts: FixtureSubgraph;
  let catalog: FixtureSubgraph;
  let legacy: FixtureSubgraph;
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  const lines: Array<{ msg: string; reason?: string; source?: string }> = [];
  const both = composeFixture({ accounts: ACCOUNTS_SDL, catalog: CATALOG_SDL });
  const withLegacy = composeFixture({ accounts: ACCOUNTS_SDL, catalog: CATALOG_SDL, legacy: LEGACY_SDL });
  const accountsOnly = composeFixture({ accounts: ACCOUNTS_SDL });

  beforeAll(async () => {
    accounts = await startAccounts();
    catalog = await startCatalog(400);
    legacy = await startRawSubgraph({ status: 200, body: JSON.stringify({ data: { legacy: "old" } }), contentType: "application/json" });
    const logger = createLogger({
      service: "gateway",
      level: "debug",
      destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
    });
    gateway = await startGateway(both, { accounts: accounts.url, catalog: catalog.url, legacy: legacy.url }, { logger });
  });
  afterAll(async () => {
    await gateway?.stop();
    await Promise.all([accounts?.stop(), catalog?.stop(), legacy?.stop()]);
  });

  it("swaps a new supergraph in while a request is in flight, which still completes", async () => {
    await gateway.supergraph.reload(both, "test");
    const inFlight = gql(gateway.url, "{ slow }");
    await new Promise((r) => setTimeout(r, 100));
    const result = await gateway.supergraph.reload(withLegacy, "test");
    expect(result).toMatchObject({ outcome: "applied", previousId: expect.any(String), id: gateway.supergraph.current().id });
    expect(gateway.subgraphs.map((s) => s.name).sort()).toEqual(["accounts", "catalog", "legacy"]);
    expect((await inFlight).body).toEqual({ data: { slow: "finally" } });
    expect((await gql(gateway.url, "{ legacy }")).body).toEqual({ data: { legacy: "old" } });
    expect(lines.some((l) => l.msg === "supergraph reloaded" && l.source === "test")).toBe(true);

    // Removing a subgraph removes its fields; the other subgraph keeps answering.
    await gateway.supergraph.reload(accountsOnly, "test");
    expect((await gql(gateway.url, "{ products { name } }")).body.errors?.[0]?.extensions?.["code"]).toBe("GRAPHQL_VALIDATION_FAILED");
    expect((await gql(gateway.url, "{ seen { secretOk } }")).body).toEqual({ data: { seen: { secretOk: true } } });
    // And readiness follows: catalog is no longer checked.
    const ready = (await (await fetch(`${gateway.origin}/health/ready`)).json()) as { dependencies: Record<string, unknown> };
    expect(Object.keys(ready.dependencies).sort()).toEqual(["subgraph:accounts"]);
  });

  it("refuses SDL that does not parse, and SDL that is not a servable supergraph, and keeps serving", async () => {
    await gateway.supergraph.reload(both, "test");
    const servingId = gateway.supergraph.current().id;
    const before = await (await fetch(`${gateway.origin}/metrics`)).text();

    const garbage = await rejectionOf(gateway.supergraph.reload("type Query {", "broken.graphql"), isSupergraphRejectedError);
    expect(garbage.reason).toBe("unparsable");
    expect(garbage.message).toContain("broken.graphql");
    const plainSchema = await rejectionOf(
      gateway.supergraph.reload("type Query { hello: String }", "plain.graphql"),
      isSupergraphRejectedError,
    );
    expect(plainSchema.reason).toBe("invalid");
    // A real supergraph with a subgraph that has neither a URL nor an override.
    const orphan = composeFixture({ accounts: ACCOUNTS_SDL, orphan: LEGACY_SDL }).replace('url: "http://placeholder/orphan"', 'url: ""');
    const noUrl = await rejectionOf(gateway.supergraph.reload(orphan, "no-url.graphql"), isSupergraphRejectedError);
    expect(noUrl).toMatchObject({ reason: "invalid", details: expect.stringContaining("orphan") });

    expect(gateway.supergraph.current().id).toBe(servingId);
    expect((await gql(gateway.url, "{ products { name } }")).body).toEqual({ data: { products: [{ name: "Mug" }] } });
    const refusedLines = lines.filter((l) => l.msg.startsWith("supergraph refused"));
    expect(refusedLines.map((l) => [l.reason, l.source])).toEqual(
      expect.arrayContaining([
        ["unparsable", "broken.graphql"],
        ["invalid", "plain.graphql"],
      ]),
    );
    const after = await (await fetch(`${gateway.origin}/metrics`)).text();
    expect(
      series(after, "gateway_supergraph_reloads_total", 'outcome="rejected"') -
        series(before, "gateway_supergraph_reloads_total", 'outcome="rejected"'),
    ).toBe(3);
  });

  it("treats the SDL being served as unchanged", async () => {
    await gateway.supergraph.reload(both, "test");
    expect(await gateway.supergraph.reload(both, "test")).toEqual({ outcome: "unchanged", id: gateway.supergraph.current().id });
  });

  it("the file watcher reloads each new version of the file and survives a broken one", async () => {
    await gateway.supergraph.reload(both, "test");
    const dir = mkdtempSync(path.join(tmpdir(), "supergraph-"));
    const file = path.join(dir, "supergraph.graphql");
    writeFileSync(file, both);
    const watcher = watchSupergraphFile({
      file,
      reload: gateway.supergraph.reload,
      logger: createLogger({ service: "test", level: "silent" }),
      intervalMs: 20,
      settleMs: 10,
    });
    try {
      writeFileSync(file, withLegacy);
      await until(() => gateway.subgraphs.some((s) => s.name === "legacy"));
      const id = gateway.supergraph.current().id;
      writeFileSync(file, "}}} not graphql");
      await until(() => lines.some((l) => l.msg.startsWith("supergraph refused") && l.source === file));
      expect(gateway.supergraph.current().id).toBe(id);
      // Replaced by rename, as editors and `kubectl cp` do.
      writeFileSync(`${file}.tmp`, accountsOnly);
      renameSync(`${file}.tmp`, file);
      await until(() => gateway.subgraphs.length === 1);
    } finally {
      watcher.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
