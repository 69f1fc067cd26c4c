/**
 * The benchmark's results: medians over the interleaved rounds, the ratios the issue sets targets for, a text
 * table for the terminal, a Markdown table for the README, JSON and an SVG bar chart.
 */
import type { RunResult } from "./load.ts";

/** The gateways compared. */
export const TARGETS = {
  a: "(a) ours, plugins on",
  b: "(b) ours, plugins off",
  c: "(c) stock @apollo/gateway",
  d: "(d) Hive Gateway",
  e: "(e) ours, dedup off",
  f: "(f) ours, V8 defaults",
  g: "(g) ours at --ref / --ref-root",
} as const;
export type TargetId = keyof typeof TARGETS;

/** One measured run. */
export interface Sample {
  target: TargetId;
  query: string;
  round: number;
  result: RunResult;
}

/** The median of each measure over a target's runs of one query. */
export type Summary = Omit<RunResult, never> & { runs: number };

/** A ratio the issue sets a target for. */
export interface RatioCheck {
  name: string;
  query: string;
  value: number;
  /** `>=` or `<=` the bound. */
  op: ">=" | "<=";
  bound: number;
  met: boolean;
}

/** Everything a run produced. */
export interface BenchReport {
  startedAt: string;
  settings: { rounds: number; durationSeconds: number; connections: number; quick: boolean };
  machine: { cpus: number; node: string; loadAverageAtStart: number[] };
  queries: Record<string, string>;
  samples: Sample[];
  summary: Record<string, Partial<Record<TargetId, Summary>>>;
  ratios: RatioCheck[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const MEASURES = [
  "rps",
  "p50",
  "p99",
  "responses",
  "wrong",
  "errors",
  "cpuCores",
  "cpuMsPerResponse",
  "subgraphRequestsPerResponse",
] as const;

/** Medians per query and target. */
export function summarize(samples: readonly Sample[]): BenchReport["summary"] {
  const summary: BenchReport["summary"] = {};
  for (const query of new Set(samples.map((s) => s.query))) {
    summary[query] = {};
    for (const target of Object.keys(TARGETS) as TargetId[]) {
      const runs = samples.filter((s) => s.query === query && s.target === target);
      if (runs.length === 0) continue;
      const entry = { runs: runs.length } as Summary;
      for (const measure of MEASURES) entry[measure] = median(runs.map((r) => r.result[measure]));
      // Wrong answers are summed, not a median: one is one too many.
      entry.wrong = runs.reduce((n, r) => n + r.result.wrong, 0);
      summary[query]![target] = entry;
    }
  }
  return summary;
}

/** The issue's targets, per query (where both sides were measured). */
export function ratioChecks(summary: BenchReport["summary"]): RatioCheck[] {
  const checks: RatioCheck[] = [];
  for (const [query, byTarget] of Object.entries(summary)) {
    const rps = (t: TargetId) => byTarget[t]?.rps;
    const add = (name: string, value: number | undefined, op: ">=" | "<=", bound: number) => {
      if (value === undefined || !Number.isFinite(value)) return;
      checks.push({ name, query, value, op, bound, met: op === ">=" ? value >= bound : value <= bound });
    };
    const ratio = (x: number | undefined, y: number | undefined) => (x !== undefined && y ? x / y : undefined);
    add("a/c rps", ratio(rps("a"), rps("c")), ">=", 3);
    add("e/c rps (dedup off)", ratio(rps("e"), rps("c")), ">=", 2.5);
    add("a/d rps", ratio(rps("a"), rps("d")), ">=", 2);
    add("a/b rps", ratio(rps("a"), rps("b")), ">=", 0.95);
    add("p99 a/c", ratio(byTarget.a?.p99, byTarget.c?.p99), "<=", 0.5);
    // The same ratios in gateway CPU per answer: what the rps ratios become once the gateway, not the machine, is
    // the bottleneck (on a shared machine a process gets a share of the CPUs, and rps measures that share too).
    const cpu = (t: TargetId) => byTarget[t]?.cpuMsPerResponse;
    add("a/c CPU efficiency", ratio(cpu("c"), cpu("a")), ">=", 3);
    add("e/c CPU efficiency", ratio(cpu("c"), cpu("e")), ">=", 2.5);
    add("a/d CPU efficiency", ratio(cpu("d"), cpu("a")), ">=", 2);
    add("a/b CPU efficiency", ratio(cpu("b"), cpu("a")), ">=", 0.95);
    // Not a target of the issue: what the V8 settings of the start scripts and the image are worth.
    add("a/f rps (V8 settings)", ratio(rps("a"), rps("f")), ">=", 1);
    // Not a target either: this checkout's (a) against another checkout's (a), e.g. the commit before a change.
    add("a/g rps (vs --ref)", ratio(rps("a"), rps("g")), ">=", 1);
    add("a/g CPU efficiency (vs --ref)", ratio(cpu("g"), cpu("a")), ">=", 1);
  }
  return checks;
}

const fixed = (n: number | undefined, digits = 1) => (n === undefined || Number.isNaN(n) ? "-" : n.toFixed(digits));

/** The results as lines of text (the terminal's table). */
export function textTable(report: BenchReport): string {
  const lines: string[] = [];
  const header = ["gateway", "rps", "p50 ms", "p99 ms", "CPU cores", "CPU ms/resp", "subgraph req/resp", "wrong"];
  for (const [query, byTarget] of Object.entries(report.summary)) {
    lines.push("", `query ${query}: ${report.queries[query] ?? ""}`);
    const rows = (Object.keys(TARGETS) as TargetId[])
      .filter((t) => byTarget[t])
      .map((t) => {
        const s = byTarget[t]!;
        return [
          TARGETS[t],
          fixed(s.rps, 0),
          fixed(s.p50),
          fixed(s.p99),
          fixed(s.cpuCores, 2),
          fixed(s.cpuMsPerResponse, 2),
          fixed(s.subgraphRequestsPerResponse, 2),
          String(s.wrong),
        ];
      });
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const fmt = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
    lines.push(fmt(header), fmt(widths.map((w) => "-".repeat(w))), ...rows.map(fmt));
  }
  lines.push("", "targets (medians of the rounds):");
  for (const c of report.ratios)
    lines.push(
      `  ${c.met ? "met    " : "MISSED "} ${c.query.padEnd(8)} ${c.name.padEnd(22)} ${c.value.toFixed(2)} (target ${c.op} ${c.bound})`,
    );
  return lines.join("\n");
}

/** The results as Markdown (for the README). */
export function markdownTable(report: BenchReport): string {
  const lines: string[] = [];
  for (const [query, byTarget] of Object.entries(report.summary)) {
    lines.push(`**${query}** (\`${report.queries[query] ?? ""}\`)`, "");
    lines.push(
      "| gateway | rps | p50 ms | p99 ms | CPU cores | CPU ms/resp | subgraph req/resp | wrong |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    );
    for (const t of Object.keys(TARGETS) as TargetId[]) {
      const s = byTarget[t];
      if (!s) continue;
      lines.push(
        `| ${TARGETS[t]} | ${fixed(s.rps, 0)} | ${fixed(s.p50)} | ${fixed(s.p99)} | ${fixed(s.cpuCores, 2)} | ${fixed(s.cpuMsPerResponse, 2)} | ${fixed(s.subgraphRequestsPerResponse, 2)} | ${s.wrong} |`,
      );
    }
    lines.push("");
  }
  lines.push("| target | query | measured | goal | |", "| --- | --- | ---: | --- | --- |");
  for (const c of report.ratios)
    lines.push(`| ${c.name} | ${c.query} | ${c.value.toFixed(2)} | ${c.op} ${c.bound} | ${c.met ? "met" : "**missed**"} |`);
  return lines.join("\n");
}

const escapeXml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A grouped bar chart of the median rps: one group per query, one bar per gateway. */
export function svgChart(report: BenchReport): string {
  const queries = Object.keys(report.summary);
  const targets = (Object.keys(TARGETS) as TargetId[]).filter((t) => queries.some((q) => report.summary[q]![t]));
  const colors: Record<TargetId, string> = {
    a: "#2563eb",
    b: "#60a5fa",
    c: "#9ca3af",
    d: "#f59e0b",
    e: "#1e3a8a",
    f: "#7c3aed",
    g: "#10b981",
  };
  const max = Math.max(1, ...queries.flatMap((q) => targets.map((t) => report.summary[q]![t]?.rps ?? 0)));
  const [barW, gap, groupGap, chartH, left, top] = [46, 8, 60, 260, 60, 40];
  const groupW = targets.length * (barW + gap) + groupGap;
  const width = left + queries.length * groupW + 220;
  const height = top + chartH + 60;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="22" font-size="15" font-weight="bold">Requests per second (median of ${report.settings.rounds} interleaved rounds, ${report.settings.connections} connections)</text>`,
    `<line x1="${left}" y1="${top + chartH}" x2="${left + queries.length * groupW}" y2="${top + chartH}" stroke="#333"/>`,
  ];
  queries.forEach((q, qi) => {
    const x0 = left + qi * groupW;
    targets.forEach((t, ti) => {
      const rps = report.summary[q]![t]?.rps ?? 0;
      const h = (rps / max) * chartH;
      const x = x0 + ti * (barW + gap);
      parts.push(
        `<rect x="${x}" y="${top + chartH - h}" width="${barW}" height="${h}" fill="${colors[t]}"><title>${escapeXml(`${TARGETS[t]}: ${rps.toFixed(0)} rps`)}</title></rect>`,
      );
      parts.push(`<text x="${x + barW / 2}" y="${top + chartH - h - 4}" text-anchor="middle">${rps.toFixed(0)}</text>`);
    });
    parts.push(
      `<text x="${x0 + (targets.length * (barW + gap)) / 2}" y="${top + chartH + 20}" text-anchor="middle" font-weight="bold">${escapeXml(q)}</text>`,
    );
  });
  targets.forEach((t, i) => {
    const y = top + 10 + i * 20;
    const x = left + queries.length * groupW;
    parts.push(
      `<rect x="${x}" y="${y}" width="14" height="14" fill="${colors[t]}"/>`,
      `<text x="${x + 20}" y="${y + 11}">${escapeXml(TARGETS[t])}</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n");
}
