import { describe, expect, it } from "vitest";
import type { RunResult } from "../load.ts";
import { ownerOf, summarizeProfile } from "../profile.ts";
import {
  markdownTable,
  median,
  ratioChecks,
  summarize,
  svgChart,
  textTable,
  type BenchReport,
  type Sample,
  type TargetId,
} from "../report.ts";

const result = (rps: number, p99: number, extra: Partial<RunResult> = {}): RunResult => ({
  rps,
  p50: p99 / 2,
  p99,
  responses: rps * 10,
  wrong: 0,
  errors: 0,
  cpuCores: 0.5,
  cpuMsPerResponse: 1,
  subgraphRequestsPerResponse: 2,
  ...extra,
});

const sample = (target: TargetId, round: number, r: RunResult, query = "catalog"): Sample => ({ target, query, round, result: r });

describe("bench report", () => {
  it("takes medians over the rounds, and sums wrong answers", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    const summary = summarize([
      sample("a", 0, result(900, 10)),
      sample("a", 1, result(1000, 12, { wrong: 1 })),
      sample("a", 2, result(5000, 8, { wrong: 2 })),
    ]);
    expect(summary["catalog"]?.a).toMatchObject({ rps: 1000, p99: 10, runs: 3, wrong: 3 });
  });

  it("checks the issue's targets per query: a/c, e/c, a/d, a/b and p99 a/c", () => {
    const summary = summarize([
      sample("a", 0, result(3000, 10)),
      sample("b", 0, result(3100, 9)),
      sample("c", 0, result(1000, 25)),
      sample("d", 0, result(1600, 15)),
      sample("e", 0, result(2400, 12)),
    ]);
    const checks = Object.fromEntries(ratioChecks(summary).map((c) => [c.name, [Number(c.value.toFixed(3)), c.met]]));
    expect(checks).toEqual({
      "a/c rps": [3, true],
      "e/c rps (dedup off)": [2.4, false],
      "a/d rps": [1.875, false],
      "a/b rps": [0.968, true],
      "p99 a/c": [0.4, true],
      // Every sample above costs 1 ms of CPU per answer.
      "a/c CPU efficiency": [1, false],
      "e/c CPU efficiency": [1, false],
      "a/d CPU efficiency": [1, false],
      "a/b CPU efficiency": [1, true],
    });
  });

  it("renders the table, Markdown and an SVG chart of every gateway measured", () => {
    const samples = [sample("a", 0, result(2000, 10)), sample("c", 0, result(500, 30)), sample("a", 0, result(800, 20), "orders")];
    const summary = summarize(samples);
    const report: BenchReport = {
      startedAt: "2026-12-01T00:00:00.000Z",
      settings: { rounds: 1, durationSeconds: 10, connections: 32, quick: false },
      machine: { cpus: 2, node: "v20", loadAverageAtStart: [1, 1, 1] },
      queries: { catalog: "query Catalog { x }", orders: "query MyOrders { y }" },
      samples,
      summary,
      ratios: ratioChecks(summary),
    };
    expect(textTable(report)).toMatch(/\(a\) ours, plugins on\s+2000/);
    expect(textTable(report)).toContain("met     catalog  a/c rps                4.00 (target >= 3)");
    expect(markdownTable(report)).toContain("| (c) stock @apollo/gateway | 500 | 15.0 | 30.0 | 0.50 | 1.00 | 2.00 | 0 |");
    const svg = svgChart(report);
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("<title>(a) ours, plugins on: 2000 rps</title>");
    expect(svg).toContain(">orders</text>");
  });

  it("summarizes a CPU profile by package and function, leaving idle time out of the percentages", () => {
    const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });
    const text = summarizeProfile({
      startTime: 0,
      endTime: 4_000_000,
      nodes: [
        { id: 1, callFrame: frame("(idle)", ""), hitCount: 2 },
        { id: 2, callFrame: frame("executeQueryPlan", "file:///x/node_modules/@apollo/gateway/dist/executeQueryPlan.js"), hitCount: 1 },
        { id: 3, callFrame: frame("process", "file:///repo/gateway/src/subgraph-datasource.ts"), hitCount: 1 },
      ],
    });
    expect(text).toContain("2 busy samples of 4");
    expect(text).toMatch(/50\.0%\s+1000 ms {2}@apollo\/gateway/);
    expect(ownerOf("node:internal/streams")).toBe("node");
    expect(ownerOf("file:///repo/packages/resilience/src/policy.ts")).toBe("ours: packages/resilience");
  });
});

describe("the gateway's V8 settings", () => {
  it("are the same in npm start (topology), the gateway's package scripts and the Dockerfile", async () => {
    const { readFileSync } = await import("node:fs");
    const path = await import("node:path");
    const { GATEWAY_NODE_OPTIONS, deployables } = await import("../../topology.ts");
    const root = path.resolve(import.meta.dirname, "../../..");
    const gateway = deployables(root).find((d) => d.kind === "gateway")!;
    expect(gateway.env["NODE_OPTIONS"]).toContain(GATEWAY_NODE_OPTIONS);
    const scripts = (JSON.parse(readFileSync(path.join(root, "gateway", "package.json"), "utf8")) as { scripts: Record<string, string> })
      .scripts;
    expect(scripts["start"]).toContain(GATEWAY_NODE_OPTIONS);
    expect(readFileSync(path.join(root, "Dockerfile"), "utf8")).toContain(`ENV NODE_OPTIONS=${GATEWAY_NODE_OPTIONS}`);
  });
});
