/**
 * Static checks of the observability files (no Prometheus or Grafana runs here): strict schemas of the parts of
 * Grafana's dashboard model and Prometheus' configuration the platform uses (an unknown key such as a typo fails),
 * PromQL parsed with Prometheus' own grammar (@prometheus-io/lezer-promql), and the metric names each query reads.
 */
import { parser } from "@prometheus-io/lezer-promql";
import { z } from "@ecom/config";

const target = z.strictObject({
  refId: z.string().regex(/^[A-Z]$/),
  datasource: z.strictObject({ type: z.literal("prometheus"), uid: z.string() }),
  expr: z.string().min(1),
  legendFormat: z.string(),
});

const gridPos = z
  .strictObject({
    h: z.number().int().positive(),
    w: z.number().int().min(1).max(24),
    x: z.number().int().min(0),
    y: z.number().int().min(0),
  })
  .refine((g) => g.x + g.w <= 24, "panel runs past the 24-column grid");

const panel = z.discriminatedUnion("type", [
  z.strictObject({
    id: z.number().int(),
    type: z.literal("row"),
    title: z.string(),
    collapsed: z.boolean(),
    gridPos,
    panels: z.array(z.never()),
  }),
  z.strictObject({
    id: z.number().int(),
    type: z.enum(["timeseries", "stat", "state-timeline"]),
    title: z.string().min(1),
    description: z.string().optional(),
    datasource: z.strictObject({ type: z.literal("prometheus"), uid: z.string() }),
    gridPos,
    fieldConfig: z.strictObject({ defaults: z.strictObject({ unit: z.string() }), overrides: z.array(z.unknown()) }),
    options: z.strictObject({
      legend: z.strictObject({
        displayMode: z.enum(["list", "table", "hidden"]),
        placement: z.enum(["bottom", "right"]),
        showLegend: z.boolean(),
      }),
      tooltip: z.strictObject({ mode: z.enum(["single", "multi", "none"]), sort: z.enum(["none", "asc", "desc"]) }),
    }),
    targets: z.array(target).min(1),
  }),
]);

/** The dashboard model (Grafana schemaVersion 39) as far as the platform's dashboards use it. */
export const dashboardSchema = z.strictObject({
  uid: z.string().regex(/^[a-z0-9-]{1,40}$/),
  title: z.string().min(1),
  description: z.string(),
  tags: z.array(z.string()),
  editable: z.boolean(),
  graphTooltip: z.number().int().min(0).max(2),
  schemaVersion: z.number().int().min(36),
  version: z.number().int(),
  refresh: z.string(),
  time: z.strictObject({ from: z.string(), to: z.string() }),
  timezone: z.string(),
  templating: z.strictObject({
    list: z.array(
      z.strictObject({
        name: z.string(),
        label: z.string(),
        type: z.enum(["custom", "query", "datasource"]),
        query: z.string(),
        multi: z.boolean(),
        includeAll: z.boolean(),
        allValue: z.string(),
        current: z.strictObject({ text: z.string(), value: z.string() }),
        options: z.array(z.unknown()),
      }),
    ),
  }),
  annotations: z.strictObject({ list: z.array(z.unknown()) }),
  panels: z.array(panel),
});

const relabel = z.strictObject({
  source_labels: z.array(z.string()).optional(),
  regex: z.string().optional(),
  replacement: z.string().optional(),
  separator: z.string().optional(),
  target_label: z.string().optional(),
  action: z.enum(["replace", "keep", "drop", "labelmap", "labeldrop", "labelkeep", "hashmod"]),
});
const duration = z.string().regex(/^\d+(ms|s|m|h)$/);
const scrapeConfig = z.strictObject({
  job_name: z.string().min(1),
  metrics_path: z.string().startsWith("/").optional(),
  scrape_interval: duration.optional(),
  static_configs: z
    .array(z.strictObject({ targets: z.array(z.string().regex(/^[a-z0-9.-]+:\d+$/)), labels: z.record(z.string(), z.string()) }))
    .optional(),
  kubernetes_sd_configs: z
    .array(
      z.strictObject({ role: z.enum(["pod", "service", "endpoints", "node"]), namespaces: z.strictObject({ names: z.array(z.string()) }) }),
    )
    .optional(),
  relabel_configs: z.array(relabel).optional(),
});

/** Prometheus' configuration file, as far as the platform uses it. */
export const prometheusConfigSchema = z.strictObject({
  global: z.strictObject({ scrape_interval: duration, evaluation_interval: duration }).optional(),
  scrape_configs: z
    .array(scrapeConfig)
    .min(1)
    .refine((list) => new Set(list.map((c) => c.job_name)).size === list.length, "job_name values must be unique"),
});

/** Problems of a dashboard: schema (unknown keys, types), duplicate panel ids, overlapping panels, bad PromQL. */
export function dashboardProblems(json: unknown): string[] {
  const parsed = dashboardSchema.safeParse(json);
  if (!parsed.success) return parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  const problems: string[] = [];
  const ids = parsed.data.panels.map((p) => p.id);
  if (new Set(ids).size !== ids.length) problems.push("panel ids are not unique");
  const cells = new Map<string, string>();
  for (const p of parsed.data.panels) {
    for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
      for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
        const other = cells.get(`${x},${y}`);
        if (other) problems.push(`panel "${p.title}" overlaps "${other}"`);
        cells.set(`${x},${y}`, p.title);
      }
    }
    if (p.type === "row") continue;
    for (const t of p.targets) problems.push(...promqlProblems(t.expr).map((e) => `panel "${p.title}" ${t.refId}: ${e}`));
  }
  return [...new Set(problems)];
}

/** Grafana's variables replaced by values PromQL accepts, so the expression can be parsed. */
const withVariables = (expr: string) => expr.replace(/\$__(rate_interval|interval|range)/g, "5m").replace(/\$\{?(\w+)\}?/g, "x");

/** Syntax errors of a PromQL expression, by Prometheus' own grammar. */
export function promqlProblems(expr: string): string[] {
  const source = withVariables(expr);
  const problems: string[] = [];
  parser.parse(source).iterate({
    enter: (node) => {
      if (node.type.isError) problems.push(`PromQL syntax error at ${node.from} in ${expr}`);
    },
  });
  return problems;
}

/** The metric names an expression selects. */
export function metricNames(expr: string): string[] {
  const source = withVariables(expr);
  const names = new Set<string>();
  parser.parse(source).iterate({
    enter: (node) => {
      if (node.name === "Identifier" && node.node.parent?.name === "VectorSelector") names.add(source.slice(node.from, node.to));
    },
  });
  return [...names];
}

/** Every expression of a dashboard. */
export function dashboardExpressions(json: unknown): string[] {
  const panels = (json as { panels?: Array<{ targets?: Array<{ expr?: string }> }> }).panels ?? [];
  return panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ""));
}

/**
 * The series names a Prometheus text exposition offers: counters and gauges by name, histograms as `_bucket`,
 * `_sum` and `_count`, summaries as the name, `_sum` and `_count`.
 */
export function exposedSeries(metricsText: string): Set<string> {
  const series = new Set<string>();
  for (const m of metricsText.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = m as unknown as [string, string, string];
    if (type === "histogram") ["_bucket", "_sum", "_count"].forEach((s) => series.add(name + s));
    else if (type === "summary") [name, `${name}_sum`, `${name}_count`].forEach((s) => series.add(s));
    else series.add(name);
  }
  return series;
}
