/**
 * `npm run k8s:canary -- <promote|abort|status> [options]`
 *
 * Canary for the gateway with Istio (k8s/overlays/canary): the VirtualService `gateway` splits traffic between
 * the subsets `stable` and `canary` by weight (`x-canary: always` always reaches the canary).
 *
 * - `promote`: checks the canary Deployment is ready, then moves the canary's weight through `--steps`
 *   (default 10,25,50,100), holding each step for `--interval` (default 2m) and reading the canary's error rate from
 *   Prometheus over that window. Above `--max-error-rate` (default 0.01) it puts all traffic back on stable and
 *   exits 1. With fewer than `--min-requests` (default 20) operations in a window it waits another interval, at
 *   most `--max-holds` times (default 3), then aborts too: no data is not good news.
 * - `abort`: all traffic to stable (weights 100/0).
 * - `status`: the current weights and the canary's error rate.
 *
 *   --prometheus http://prometheus.monitoring:9090   Prometheus' HTTP API (the scrape config labels pods by track)
 *   --namespace ecom  --context C  --kubectl PATH
 *
 * After a full promotion, roll the canary's image out to the stable Deployment and run `abort` to send traffic
 * back to it (or keep 100 on the canary until then).
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { kubectlCluster, notReadyReason, parseDuration, type Cluster } from "./k8s-cluster.ts";

/** The canary's operations and failed operations over a window, from Prometheus. */
export interface CanaryStats {
  requests: number;
  errors: number;
}

/** Reads {@link CanaryStats}; the default queries the gateway's own metrics of the canary pods. */
export type StatsSource = (windowMs: number) => Promise<CanaryStats>;

/** PromQL of the canary's operations over a window (labels added by the scrape config: track). */
export function canaryQueries(windowMs: number): { requests: string; errors: string } {
  const window = `${Math.max(1, Math.round(windowMs / 1000))}s`;
  const selector = (extra = "") => `graphql_operation_duration_seconds_count{service="gateway", track="canary"${extra}}`;
  return {
    requests: `sum(increase(${selector()}[${window}]))`,
    errors: `sum(increase(${selector(', outcome="error"')}[${window}]))`,
  };
}

/** A {@link StatsSource} over Prometheus' HTTP API (`/api/v1/query`). */
export function prometheusStats(baseUrl: string): StatsSource {
  const scalar = async (query: string) => {
    const url = new URL("/api/v1/query", baseUrl);
    url.searchParams.set("query", query);
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { status: string; error?: string; data?: { result?: Array<{ value: [number, string] }> } };
    if (!res.ok || body.status !== "success") throw new Error(`Prometheus ${url.origin}: ${body.error ?? `HTTP ${res.status}`}`);
    const value = Number(body.data?.result?.[0]?.value[1] ?? 0);
    return Number.isFinite(value) ? value : 0;
  };
  return async (windowMs) => {
    const q = canaryQueries(windowMs);
    const [requests, errors] = await Promise.all([scalar(q.requests), scalar(q.errors)]);
    return { requests, errors };
  };
}

interface WeightedRoute {
  name?: string;
  route?: Array<{ destination?: { subset?: string }; weight?: number }>;
  [key: string]: unknown;
}

/** The canary's current weight (0-100) in the VirtualService's weighted route. */
export async function canaryWeight(cluster: Cluster): Promise<number> {
  const http = ((await cluster.get("virtualservice", "gateway")).spec?.["http"] ?? []) as WeightedRoute[];
  const weighted = http.find((h) => h.name === "weighted");
  const canary = weighted?.route?.find((r) => r.destination?.subset === "canary");
  if (!weighted || !canary)
    throw new Error("VirtualService gateway has no weighted route with a canary subset; is the canary overlay applied?");
  return canary.weight ?? 0;
}

/** Sets the canary's weight (stable gets the rest, so they sum to 100). */
export async function setCanaryWeight(cluster: Cluster, weight: number): Promise<void> {
  if (!Number.isInteger(weight) || weight < 0 || weight > 100) throw new Error(`canary weight must be 0-100 (got ${weight})`);
  const vs = await cluster.get("virtualservice", "gateway");
  const http = structuredClone((vs.spec?.["http"] ?? []) as WeightedRoute[]);
  const weighted = http.find((h) => h.name === "weighted");
  if (!weighted?.route) throw new Error("VirtualService gateway has no weighted route");
  for (const r of weighted.route) r.weight = r.destination?.subset === "canary" ? weight : 100 - weight;
  // A merge patch replaces lists whole: the other routes (the x-canary header match) are sent back unchanged.
  await cluster.patch("virtualservice", "gateway", { spec: { http } });
}

/** Options of {@link promote}. */
export interface PromoteOptions {
  steps: number[];
  intervalMs: number;
  maxErrorRate: number;
  minRequests: number;
  maxHolds: number;
  stats: StatsSource;
  log: (line: string) => void;
  /** @default setTimeout */
  sleep?: (ms: number) => Promise<void>;
}

/** What {@link promote} ended with. */
export type PromoteResult = { outcome: "promoted"; weight: 100 } | { outcome: "aborted"; weight: 0; atStep: number; reason: string };

/** Moves the canary through the steps while its error rate stays under the threshold; aborts otherwise. */
export async function promote(cluster: Cluster, options: PromoteOptions): Promise<PromoteResult> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const steps = options.steps;
  if (
    steps.length === 0 ||
    steps.some((s, i) => !Number.isInteger(s) || s <= 0 || s > 100 || (i > 0 && s <= steps[i - 1]!)) ||
    steps.at(-1) !== 100
  )
    throw new Error(`--steps must be increasing integers in 1-100 ending at 100 (got ${steps.join(",")})`);
  const reason = notReadyReason(await cluster.get("deployment", "gateway-canary"));
  if (reason) throw new Error(`not starting: ${reason}`);

  const abort = async (atStep: number, why: string): Promise<PromoteResult> => {
    await setCanaryWeight(cluster, 0);
    options.log(`aborted at ${atStep}%: ${why}; all traffic is back on stable`);
    return { outcome: "aborted", weight: 0, atStep, reason: why };
  };
  for (const step of steps) {
    await setCanaryWeight(cluster, step);
    options.log(`canary at ${step}%`);
    if (step === 100) break;
    for (let holds = 0; ; holds++) {
      await sleep(options.intervalMs);
      const { requests, errors } = await options.stats(options.intervalMs);
      const rate = requests > 0 ? errors / requests : 0;
      if (requests >= options.minRequests) {
        options.log(`  ${requests} operations, ${errors} failed (${(rate * 100).toFixed(2)}%)`);
        if (rate > options.maxErrorRate)
          return abort(step, `error rate ${(rate * 100).toFixed(2)}% above ${(options.maxErrorRate * 100).toFixed(2)}%`);
        break;
      }
      if (holds + 1 >= options.maxHolds) return abort(step, `fewer than ${options.minRequests} operations in ${options.maxHolds} windows`);
      options.log(`  only ${requests} operations: holding ${step}% for another window`);
    }
  }
  options.log("canary at 100%: roll its image out to the stable Deployment, then `npm run k8s:canary -- abort`");
  return { outcome: "promoted", weight: 100 };
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      steps: { type: "string", default: "10,25,50,100" },
      interval: { type: "string", default: "2m" },
      "max-error-rate": { type: "string", default: "0.01" },
      "min-requests": { type: "string", default: "20" },
      "max-holds": { type: "string", default: "3" },
      prometheus: { type: "string", default: "http://prometheus.monitoring:9090" },
      namespace: { type: "string" },
      context: { type: "string" },
      kubectl: { type: "string" },
    },
  });
  const cluster = kubectlCluster({
    ...(values.namespace ? { namespace: values.namespace } : {}),
    ...(values.context ? { context: values.context } : {}),
    ...(values.kubectl ? { kubectl: values.kubectl } : {}),
  });
  const log = (line: string) => process.stdout.write(`${line}\n`);
  switch (positionals[0] ?? "status") {
    case "status": {
      const weight = await canaryWeight(cluster);
      const { requests, errors } = await prometheusStats(values.prometheus)(parseDuration(values.interval));
      log(`canary ${weight}%, stable ${100 - weight}%; canary over ${values.interval}: ${requests} operations, ${errors} failed`);
      return 0;
    }
    case "abort":
      await setCanaryWeight(cluster, 0);
      log("all traffic on stable (canary 0%)");
      return 0;
    case "promote": {
      const numeric = (name: string, value: string) => {
        const n = Number(value);
        if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number (got ${value})`);
        return n;
      };
      const result = await promote(cluster, {
        steps: values.steps.split(",").map((s) => Number(s.trim())),
        intervalMs: parseDuration(values.interval),
        maxErrorRate: numeric("max-error-rate", values["max-error-rate"]),
        minRequests: numeric("min-requests", values["min-requests"]),
        maxHolds: Math.max(1, numeric("max-holds", values["max-holds"])),
        stats: prometheusStats(values.prometheus),
        log,
      });
      return result.outcome === "promoted" ? 0 : 1;
    }
    default:
      process.stderr.write(
        "usage: npm run k8s:canary -- <promote|abort|status> [--steps 10,25,50,100] [--interval 2m] [--max-error-rate 0.01]\n",
      );
      return 2;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
