/**
 * The observability stack, checked statically: the generated Grafana dashboards and Prometheus configurations
 * against strict schemas, every query against Prometheus' grammar, the scrape configuration against the
 * manifests' annotations and labels, and the compose `observability` profile. (Whether each queried metric exists
 * in a process's /metrics: dashboard-metrics.e2e.test.ts.)
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { deployTargets, ROOT } from "../../scripts/deploy-spec.ts";
import { DATASOURCE } from "../../scripts/observability.ts";
import { parseCompose, readRepoFile } from "./deploy-checks.ts";
import { dashboardExpressions, dashboardProblems, metricNames, prometheusConfigSchema, promqlProblems } from "./observability-checks.ts";

const DASHBOARDS = path.join(ROOT, "observability/grafana/dashboards");
const dashboards = readdirSync(DASHBOARDS)
  .filter((f) => f.endsWith(".json"))
  .map((f) => ({ file: f, json: JSON.parse(readFileSync(path.join(DASHBOARDS, f), "utf8")) as Record<string, unknown> }));
const yamlFile = (file: string) => parseYaml(readRepoFile(file)) as unknown;

describe("the Grafana dashboards", () => {
  it("cover traffic and latency per subgraph, breakers, rate limits, queues, dead letters and sagas", () => {
    expect(dashboards.map((d) => d.file).sort()).toEqual(["ecom-async.json", "ecom-traffic.json"]);
    const metrics = new Set(dashboards.flatMap((d) => dashboardExpressions(d.json).flatMap(metricNames)));
    for (const m of [
      "http_request_duration_seconds_bucket",
      "graphql_operation_duration_seconds_count",
      "gateway_breaker_state",
      "gateway_rate_limit_rejections_total",
      "queue_jobs",
      "events_dead_lettered_total",
      "saga_finished_total",
    ])
      expect(metrics, m).toContain(m);
  });

  it.each(dashboards.map((d) => [d.file, d.json] as const))("%s matches the dashboard schema and every query parses", (_file, json) => {
    expect(dashboardProblems(json)).toEqual([]);
    for (const expr of dashboardExpressions(json)) expect(metricNames(expr).length, expr).toBeGreaterThan(0);
  });

  it("use the provisioned datasource", () => {
    const provisioned = yamlFile("observability/grafana/provisioning/datasources/prometheus.yml") as {
      datasources: Array<{ uid: string }>;
    };
    expect(provisioned.datasources.map((d) => d.uid)).toEqual([DATASOURCE.uid]);
    for (const { json } of dashboards) {
      const uids = [...JSON.stringify(json).matchAll(/"datasource":\{"type":"prometheus","uid":"([^"]*)"\}/g)].map((m) => m[1]);
      expect(uids.length).toBeGreaterThan(0);
      expect(new Set(uids)).toEqual(new Set([DATASOURCE.uid]));
    }
  });

  it("reject a broken copy: an unknown key, a panel past the grid, a PromQL syntax error", () => {
    const broken = structuredClone(dashboards[0]!.json) as { panels: Array<Record<string, unknown>>; [k: string]: unknown };
    broken["refersh"] = "30s";
    (broken.panels[1]!["gridPos"] as { x: number }).x = 20;
    (broken.panels[1]!["targets"] as Array<{ expr: string }>)[0]!.expr = "sum(rate(http_request_duration_seconds_count[5m]) by";
    const problems = dashboardProblems(broken);
    expect(problems).toContainEqual(expect.stringMatching(/Unrecognized key.*refersh/));
    expect(problems).toContainEqual(expect.stringMatching(/past the 24-column grid/));
    const fixedSchema = structuredClone(dashboards[0]!.json) as { panels: Array<Record<string, unknown>> };
    (fixedSchema.panels[1]!["targets"] as Array<{ expr: string }>)[0]!.expr = "sum(rate(x[5m]) by";
    expect(dashboardProblems(fixedSchema)).toContainEqual(expect.stringMatching(/PromQL syntax error/));
    expect(promqlProblems('sum by (service) (rate(db_statements_total{service="x"}[$__rate_interval]))')).toEqual([]);
  });
});

describe("the Prometheus configuration", () => {
  it("for compose scrapes every deployable at its service name and port", () => {
    const config = prometheusConfigSchema.parse(yamlFile("observability/prometheus/prometheus.yml"));
    const targets = config.scrape_configs.flatMap((c) => c.static_configs ?? []).flatMap((s) => s.targets);
    expect(targets.sort()).toEqual(
      deployTargets()
        .map((t) => `${t.name}:${t.port}`)
        .sort(),
    );
  });

  it("for a cluster keeps the pods the manifests annotate and labels them by deployable, track and colour", () => {
    const config = prometheusConfigSchema.parse(yamlFile("observability/prometheus/kubernetes-scrape.yml"));
    const job = config.scrape_configs[0]!;
    expect(job.kubernetes_sd_configs?.[0]?.namespaces.names).toEqual(["ecom"]);
    const relabels = job.relabel_configs ?? [];
    expect(relabels[0]).toEqual({
      source_labels: ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"],
      regex: "true",
      action: "keep",
    });
    expect(relabels.map((r) => r.target_label).filter(Boolean)).toEqual(
      expect.arrayContaining(["__metrics_path__", "__address__", "deployable", "track", "color"]),
    );
    // The annotations and labels it reads are the ones the Deployments carry.
    const deployment = readRepoFile("k8s/base/users.yaml");
    for (const key of ["prometheus.io/scrape", "prometheus.io/port", "prometheus.io/path", "app.kubernetes.io/name", "ecom.io/track"])
      expect(deployment).toContain(`${key}:`);
  });

  it("rejects a broken copy: an unknown key and a duplicate job", () => {
    const config = yamlFile("observability/prometheus/prometheus.yml") as { scrape_configs: Array<Record<string, unknown>> };
    const broken = structuredClone(config);
    broken.scrape_configs[0]!["scrape_intervall"] = "5s";
    broken.scrape_configs.push(structuredClone(config.scrape_configs[0]!));
    const issues = prometheusConfigSchema.safeParse(broken).error?.issues.map((i) => i.message) ?? [];
    expect(issues).toContainEqual(expect.stringMatching(/scrape_intervall/));
    expect(issues).toContain("job_name values must be unique");
  });
});

describe("docker compose --profile observability", () => {
  const compose = parseCompose(readRepoFile("docker-compose.yml"));

  it("runs Prometheus, Grafana with the dashboards provisioned, and Jaeger for OTLP traces, only in that profile", () => {
    for (const name of ["prometheus", "grafana", "jaeger"]) expect(compose.services[name]?.["profiles"], name).toEqual(["observability"]);
    expect(JSON.stringify(compose.services["prometheus"]?.["volumes"])).toContain(
      "./observability/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml",
    );
    const grafana = JSON.stringify(compose.services["grafana"]?.["volumes"]);
    expect(grafana).toContain("./observability/grafana/provisioning:/etc/grafana/provisioning");
    expect(grafana).toContain("./observability/grafana/dashboards:/var/lib/grafana/dashboards");
    const provider = yamlFile("observability/grafana/provisioning/dashboards/ecom.yml") as {
      providers: Array<{ options: { path: string } }>;
    };
    expect(provider.providers[0]!.options.path).toBe("/var/lib/grafana/dashboards");
    expect(JSON.stringify(compose.services["jaeger"]?.ports)).toContain("4318:4318");
    // The platform itself runs without the profile.
    for (const t of deployTargets()) expect(compose.services[t.name]?.["profiles"], t.name).toBeUndefined();
  });
});
