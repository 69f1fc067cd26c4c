/**
 * Every metric the Grafana dashboards query is exposed by a real process's /metrics: the gateway, a subgraph and a
 * worker (the search worker: consumers and a relay) are started and scraped after serving a request. Metrics that parallel work is adding are listed in
 * PENDING_METRICS (scripts/observability.ts); one that starts being exposed must leave that list, so the check
 * tightens as the work lands.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createTestDatabase, ROOT_DIR, startProcess, type RunningProcess, type TestDatabase } from "@ecom/testing";
import { composeSupergraph, readSubgraphSources } from "../../scripts/compose.ts";
import { PENDING_METRICS } from "../../scripts/observability.ts";
import { dashboardExpressions, exposedSeries, metricNames } from "./observability-checks.ts";

const TSX = createRequire(import.meta.url).resolve("tsx");
const DASHBOARDS = path.join(ROOT_DIR, "observability/grafana/dashboards");
const tmp = mkdtempSync(path.join(os.tmpdir(), "dashboard-metrics-"));
const processes: RunningProcess[] = [];
let db: TestDatabase | undefined;
let searchDb: TestDatabase | undefined;
const origins: Record<string, string> = {};

async function start(
  name: string,
  workspace: string,
  readyMessage: string,
  env: Record<string, string>,
  entry = "src/index.ts",
): Promise<string> {
  const proc = await startProcess({
    name,
    command: process.execPath,
    args: ["--import", TSX, entry],
    cwd: path.join(ROOT_DIR, workspace),
    env: { NODE_ENV: "test", LOG_LEVEL: "info", HOST: "127.0.0.1", PORT: "0", ...env },
  });
  processes.push(proc);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const line = proc
      .output()
      .split("\n")
      .find((l) => l.includes(`"msg":"${readyMessage}"`));
    if (line) return new URL((JSON.parse(line) as { url: string }).url).origin;
    if (proc.child.exitCode !== null || Date.now() > deadline) throw new Error(`${name} did not start:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  const run = inject("testRun");
  db = await createTestDatabase(run, "products");
  searchDb = await createTestDatabase(run, "search");
  origins["products"] = await start("products", "subgraphs/products", "products subgraph ready", { DATABASE_URL: db.url });
  origins["search-worker"] = await start(
    "search worker",
    "subgraphs/search",
    "search worker ready",
    { DATABASE_URL: searchDb.url, REDIS_URL: run.redisUrl, QUEUE_PREFIX: `${run.redisPrefix}dashboard`, RELAY_POLL_INTERVAL: "100ms" },
    "src/worker.ts",
  );
  const composed = composeSupergraph(readSubgraphSources().filter((s) => s.name === "products"));
  if (!composed.ok) throw new Error(composed.errors.join("\n"));
  writeFileSync(path.join(tmp, "supergraph.graphql"), composed.supergraphSdl);
  origins["gateway"] = await start("gateway", "gateway", "gateway ready", {
    SUPERGRAPH_PATH: path.join(tmp, "supergraph.graphql"),
    SUBGRAPH_PRODUCTS_URL: `${origins["products"]}/graphql`,
  });
  // One operation through both, and one error, so every labelled series has been touched.
  for (const query of ["{ products(first: 1) { totalCount } }", "{ nope }"]) {
    await fetch(`${origins["gateway"]}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", "apollo-require-preflight": "true" },
      body: JSON.stringify({ query }),
    });
  }
}, 180_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop(5000)));
  await db?.[Symbol.asyncDispose]();
  await searchDb?.[Symbol.asyncDispose]();
  rmSync(tmp, { recursive: true, force: true });
});

describe("the metrics the dashboards query", () => {
  it("are exposed by the gateway, a subgraph or a worker, or are listed as pending", async () => {
    const exposed = new Set<string>();
    for (const origin of Object.values(origins)) {
      const text = await (await fetch(`${origin}/metrics`)).text();
      for (const s of exposedSeries(text)) exposed.add(s);
    }
    expect(exposed).toContain("http_request_duration_seconds_bucket");
    expect(exposed, "the worker was scraped").toContain("queue_jobs");
    const queried = new Set(
      readdirSync(DASHBOARDS)
        .filter((f) => f.endsWith(".json"))
        .flatMap((f) => dashboardExpressions(JSON.parse(readFileSync(path.join(DASHBOARDS, f), "utf8"))).flatMap(metricNames)),
    );
    const missing = [...queried].filter((m) => !exposed.has(m) && !Object.hasOwn(PENDING_METRICS, m));
    expect(missing, "queried by a dashboard but exposed by no process (fix the query, or list it in PENDING_METRICS)").toEqual([]);
    const landed = Object.keys(PENDING_METRICS).filter((m) => exposed.has(m));
    expect(landed, "exposed now: remove from PENDING_METRICS in scripts/observability.ts").toEqual([]);
    const unused = Object.keys(PENDING_METRICS).filter((m) => !queried.has(m));
    expect(unused, "pending but queried by no dashboard").toEqual([]);
  });

  it("would catch a dashboard querying a metric nobody exposes", () => {
    const exposed = exposedSeries("# TYPE http_request_duration_seconds histogram\n# TYPE graphql_errors_total counter\n");
    const queried = metricNames('sum(rate(http_request_duration_seconds_count[5m])) / sum(rate(http_requests_totl{code="500"}[5m]))');
    expect(queried.filter((m) => !exposed.has(m))).toEqual(["http_requests_totl"]);
  });
});
