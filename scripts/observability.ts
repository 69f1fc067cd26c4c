/**
 * The observability stack's configuration, generated with the manifests (`npm run k8s:generate`):
 *
 *   observability/prometheus/prometheus.yml          docker compose --profile observability: every deployable
 *   observability/prometheus/kubernetes-scrape.yml   scrape_configs for a cluster's Prometheus (pod annotations)
 *   observability/grafana/dashboards/*.json          Grafana dashboards, provisioned by compose
 *
 * Every metric a dashboard queries must be exposed by some process's `/metrics`
 * (tests/deploy/dashboard-metrics.e2e.test.ts scrapes them); metrics that parallel work is adding are listed in
 * {@link PENDING_METRICS} until they land.
 */
import { NAMESPACE, type DeployTarget } from "./deploy-spec.ts";
import { LABELS } from "./k8s-manifests.ts";

/**
 * Metrics the dashboards query that no process on main exposes yet, with who adds them. When one lands, the
 * dashboard-metrics test fails until it is removed from here (so the check tightens as the work merges).
 */
export const PENDING_METRICS: Record<string, string> = {
  saga_finished_total:
    "saga (#9): exposed by the orders worker (saga_finished_total{saga,outcome}); this check scrapes the search worker only",
};

/** The Grafana datasource every panel uses (provisioned under this uid). */
export const DATASOURCE = { type: "prometheus", uid: "prometheus" } as const;

// ---------------------------------------------------------------------------------------------------------------
// Prometheus
// ---------------------------------------------------------------------------------------------------------------

/** Scrape configuration for compose: every deployable at its service name and port. */
export function composePrometheusConfig(targets: DeployTarget[]) {
  return {
    global: { scrape_interval: "15s", evaluation_interval: "15s" },
    scrape_configs: [
      {
        job_name: "ecom",
        metrics_path: "/metrics",
        static_configs: targets.map((t) => ({
          targets: [`${t.name}:${t.port}`],
          labels: { deployable: t.name, kind: t.kind, track: "stable" },
        })),
      },
    ],
  };
}

/** Prometheus' relabelling name of a pod label (`app.kubernetes.io/name` -> `__meta_kubernetes_pod_label_app_kubernetes_io_name`). */
const podLabel = (label: string) => `__meta_kubernetes_pod_label_${label.replace(/[^a-zA-Z0-9_]/g, "_")}`;
const podAnnotation = (annotation: string) => `__meta_kubernetes_pod_annotation_${annotation.replace(/[^a-zA-Z0-9_]/g, "_")}`;

/**
 * Scrape configuration for a cluster: pods of the platform's namespace that carry `prometheus.io/scrape: "true"`
 * (the manifests set it with the port and path), labelled with the deployable, its track (stable, canary) and
 * colour (blue, green), which the canary script and the dashboards filter on.
 */
export function kubernetesScrapeConfig() {
  return {
    scrape_configs: [
      {
        job_name: "ecom-pods",
        kubernetes_sd_configs: [{ role: "pod", namespaces: { names: [NAMESPACE] } }],
        relabel_configs: [
          { source_labels: [podAnnotation("prometheus.io/scrape")], regex: "true", action: "keep" },
          { source_labels: [podAnnotation("prometheus.io/path")], regex: "(.+)", target_label: "__metrics_path__", action: "replace" },
          {
            source_labels: ["__address__", podAnnotation("prometheus.io/port")],
            regex: "([^:]+)(?::\\d+)?;(\\d+)",
            replacement: "$1:$2",
            target_label: "__address__",
            action: "replace",
          },
          { source_labels: [podLabel(LABELS.name)], target_label: "deployable", action: "replace" },
          { source_labels: [podLabel(LABELS.component)], target_label: "kind", action: "replace" },
          { source_labels: [podLabel(LABELS.track)], target_label: "track", action: "replace" },
          { source_labels: [podLabel(LABELS.color)], target_label: "color", action: "replace" },
          { source_labels: ["__meta_kubernetes_pod_name"], target_label: "pod", action: "replace" },
        ],
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Grafana
// ---------------------------------------------------------------------------------------------------------------

interface PanelSpec {
  title: string;
  type?: "timeseries" | "stat" | "state-timeline";
  unit?: string;
  description?: string;
  targets: Array<{ expr: string; legend: string }>;
  /** Width in grid columns (of 24). @default 12 */
  w?: number;
}

function dashboard(uid: string, title: string, description: string, rows: Array<{ title: string; panels: PanelSpec[] }>) {
  const panels: unknown[] = [];
  let id = 1;
  let y = 0;
  for (const row of rows) {
    panels.push({ id: id++, type: "row", title: row.title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y: y++ }, panels: [] });
    let x = 0;
    for (const p of row.panels) {
      const w = p.w ?? 12;
      if (x + w > 24) {
        x = 0;
        y += 8;
      }
      panels.push({
        id: id++,
        type: p.type ?? "timeseries",
        title: p.title,
        ...(p.description ? { description: p.description } : {}),
        datasource: DATASOURCE,
        gridPos: { h: 8, w, x, y },
        fieldConfig: { defaults: { unit: p.unit ?? "short" }, overrides: [] },
        options: { legend: { displayMode: "list", placement: "bottom", showLegend: true }, tooltip: { mode: "multi", sort: "desc" } },
        targets: p.targets.map((t, i) => ({
          refId: String.fromCharCode(65 + i),
          datasource: DATASOURCE,
          expr: t.expr,
          legendFormat: t.legend,
        })),
      });
      x += w;
    }
    y += 8;
  }
  return {
    uid,
    title,
    description,
    tags: ["ecom"],
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: "30s",
    time: { from: "now-1h", to: "now" },
    timezone: "browser",
    templating: {
      list: [
        {
          name: "track",
          label: "Track",
          type: "custom",
          query: "stable,canary",
          multi: true,
          includeAll: true,
          allValue: ".*",
          current: { text: "All", value: "$__all" },
          options: [],
        },
      ],
    },
    annotations: { list: [] },
    panels,
  };
}

const rate = (expr: string) => `rate(${expr}[$__rate_interval])`;
const GATEWAY = 'service="gateway", route="/graphql", track=~"$track"';
const SUBGRAPH = 'service!="gateway", route="/graphql"';

/** The dashboards, by file name. */
export function dashboards(): Record<string, unknown> {
  return {
    "ecom-traffic.json": dashboard(
      "ecom-traffic",
      "ecom / Gateway and subgraphs",
      "Traffic, errors and latency at the gateway and per subgraph; breakers and rate limits (RED per deployable).",
      [
        {
          title: "Gateway",
          panels: [
            {
              title: "Requests per second (by track)",
              unit: "reqps",
              w: 8,
              targets: [{ expr: `sum by (track) (${rate(`http_request_duration_seconds_count{${GATEWAY}}`)})`, legend: "{{track}}" }],
            },
            {
              title: "Failed operations ratio (by track)",
              unit: "percentunit",
              w: 8,
              description: "GraphQL operations with errors over all operations: what the canary script watches.",
              targets: [
                {
                  expr:
                    `sum by (track) (${rate('graphql_operation_duration_seconds_count{service="gateway", outcome="error", track=~"$track"}')})` +
                    ` / sum by (track) (${rate('graphql_operation_duration_seconds_count{service="gateway", track=~"$track"}')})`,
                  legend: "{{track}}",
                },
              ],
            },
            {
              title: "Latency p50 / p95 / p99",
              unit: "s",
              w: 8,
              targets: [0.5, 0.95, 0.99].map((q) => ({
                expr: `histogram_quantile(${q}, sum by (le) (${rate(`http_request_duration_seconds_bucket{${GATEWAY}}`)}))`,
                legend: `p${Math.round(q * 100)}`,
              })),
            },
            {
              title: "Errors by code",
              w: 12,
              targets: [{ expr: `sum by (code) (${rate('graphql_errors_total{service="gateway"}')})`, legend: "{{code}}" }],
            },
            {
              title: "Rate-limit refusals (by rule)",
              w: 12,
              targets: [
                { expr: `sum by (rule) (${rate("gateway_rate_limit_rejections_total")})`, legend: "{{rule}}" },
                // Decisions made without Redis (the Redis-down policy), so an outage of the shared counters shows.
                { expr: `sum by (policy) (${rate("gateway_rate_limit_fallbacks_total")})`, legend: "without Redis: {{policy}}" },
              ],
            },
          ],
        },
        {
          title: "Subgraphs",
          panels: [
            {
              title: "Requests per second (by subgraph)",
              unit: "reqps",
              w: 8,
              targets: [{ expr: `sum by (service) (${rate(`http_request_duration_seconds_count{${SUBGRAPH}}`)})`, legend: "{{service}}" }],
            },
            {
              title: "Latency p95 (by subgraph)",
              unit: "s",
              w: 8,
              targets: [
                {
                  expr: `histogram_quantile(0.95, sum by (le, service) (${rate(`http_request_duration_seconds_bucket{${SUBGRAPH}}`)}))`,
                  legend: "{{service}}",
                },
              ],
            },
            {
              title: "SQL statements per second (by subgraph)",
              w: 8,
              description: "A jump per request is the signature of an N+1.",
              targets: [{ expr: `sum by (service) (${rate("db_statements_total")})`, legend: "{{service}}" }],
            },
            {
              title: "Circuit breaker state (0 closed, 1 half-open, 2 open)",
              type: "state-timeline",
              w: 12,
              targets: [{ expr: "max by (subgraph) (gateway_breaker_state)", legend: "{{subgraph}}" }],
            },
            {
              title: "Subgraph calls refused or timed out at the gateway",
              w: 12,
              targets: [
                { expr: `sum by (subgraph, reason) (${rate("gateway_subgraph_rejections_total")})`, legend: "{{subgraph}} {{reason}}" },
                { expr: `sum by (subgraph) (${rate("gateway_subgraph_timeouts_total")})`, legend: "{{subgraph}} timeout" },
              ],
            },
          ],
        },
        {
          title: "Processes",
          panels: [
            {
              title: "Resident memory (by deployable)",
              unit: "bytes",
              w: 12,
              targets: [{ expr: "sum by (service) (process_resident_memory_bytes)", legend: "{{service}}" }],
            },
            {
              title: "Event loop lag p99 (by deployable)",
              unit: "s",
              w: 12,
              targets: [{ expr: "max by (service) (nodejs_eventloop_lag_p99_seconds)", legend: "{{service}}" }],
            },
          ],
        },
      ],
    ),
    "ecom-async.json": dashboard(
      "ecom-async",
      "ecom / Queues, events and sagas",
      "Queue depth and dead letters, event consumption, the outbox backlog and saga outcomes.",
      [
        {
          title: "Queues and events",
          panels: [
            {
              title: "Queue depth (by queue and state)",
              w: 12,
              targets: [{ expr: 'sum by (queue, state) (queue_jobs{state=~"waiting|active|delayed"})', legend: "{{queue}} {{state}}" }],
            },
            {
              title: "Dead letters (new per second, by queue)",
              w: 12,
              targets: [
                { expr: `sum by (queue, reason) (${rate("events_dead_lettered_total")})`, legend: "{{queue}} {{reason}}" },
                { expr: 'sum by (queue) (queue_jobs{state="failed"})', legend: "{{queue}} failed (held)" },
              ],
            },
            {
              title: "Events consumed (by outcome)",
              w: 12,
              targets: [{ expr: `sum by (outcome) (${rate("events_consumed_total")})`, legend: "{{outcome}}" }],
            },
            {
              title: "Outbox backlog (by service)",
              w: 12,
              targets: [{ expr: "sum by (service) (outbox_backlog_messages)", legend: "{{service}}" }],
            },
          ],
        },
        {
          title: "Sagas",
          panels: [
            {
              title: "Saga outcomes per second (by saga and outcome)",
              w: 24,
              targets: [{ expr: `sum by (saga, outcome) (${rate("saga_finished_total")})`, legend: "{{saga}} {{outcome}}" }],
            },
          ],
        },
      ],
    ),
  };
}

/** Grafana provisioning for compose: the Prometheus datasource and the dashboards folder. */
export const GRAFANA_PROVISIONING = {
  datasources: {
    apiVersion: 1,
    datasources: [
      { name: "Prometheus", type: DATASOURCE.type, uid: DATASOURCE.uid, access: "proxy", url: "http://prometheus:9090", isDefault: true },
    ],
  },
  dashboards: {
    apiVersion: 1,
    providers: [{ name: "ecom", folder: "ecom", type: "file", disableDeletion: true, options: { path: "/var/lib/grafana/dashboards" } }],
  },
};
