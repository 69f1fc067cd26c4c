/**
 * The gateway's readiness: "the supergraph is loaded and I can serve", not "every subgraph is up". One subgraph
 * down must not take every gateway replica out of rotation (the other subgraphs' fields still resolve, its own are
 * SUBGRAPH_UNAVAILABLE). Subgraph health is checked in the background (one run per interval whatever the number of
 * probes; a probe never fans out to the subgraphs) and reported in the readiness body (`dependencies`) and in
 * `health_check_up{check="subgraph:<name>"}` / `health_check_duration_seconds`.
 */
import {
  createBackgroundChecks,
  type BackgroundChecks,
  type CachedCheckResult,
  type Metrics,
  type ReadinessCheck,
} from "@ecom/observability";
import type { Logger } from "@ecom/observability";

/** Options of {@link createSubgraphHealth}. */
export interface SubgraphHealthOptions {
  metrics: Metrics;
  logger: Logger;
  /** @default 5000 */
  intervalMs?: number;
  /** @default 2000 */
  timeoutMs?: number;
}

/** Background checks of the served subgraphs, replaced when the supergraph changes. */
export interface SubgraphHealth extends Pick<BackgroundChecks, "report" | "refresh" | "start" | "stop"> {
  /** The checks of the subgraphs now served (a reload's new list: results of removed subgraphs are dropped). */
  setChecks(checks: readonly ReadinessCheck[]): void;
}

/** See the module comment. */
export function createSubgraphHealth(options: SubgraphHealthOptions): SubgraphHealth {
  // Filled in place: the background checks read the array on every run.
  const checks: ReadinessCheck[] = [];
  const background = createBackgroundChecks({
    checks,
    metrics: options.metrics,
    intervalMs: options.intervalMs ?? 5000,
    timeoutMs: options.timeoutMs ?? 2000,
    onChange: (name, result) => {
      if (result.status === "fail") options.logger.warn({ check: name, error: result.error }, "subgraph health check failing");
      else if (result.status === "ok") options.logger.info({ check: name }, "subgraph health check ok");
    },
  });
  const current = () => new Set(checks.map((c) => c.name));
  return {
    setChecks(next) {
      checks.splice(0, checks.length, ...next);
      void background.refresh();
    },
    report() {
      const names = current();
      const all = background.report();
      const report: Record<string, CachedCheckResult> = {};
      for (const name of names) {
        const result = all[name] ?? { status: "unknown" };
        // /health/ready shares the public port: the reason stays (ECONNREFUSED, HTTP 503), the internal URL is
        // only in the log line of the change.
        report[name] =
          result.error === undefined ? result : { ...result, error: result.error.replace(/\bhttps?:\/\/[^\s)]+/g, "the subgraph") };
      }
      return report;
    },
    refresh: () => background.refresh(),
    start: () => background.start(),
    stop: () => background.stop(),
  };
}
