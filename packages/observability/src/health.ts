import type { IncomingMessage, ServerResponse } from "node:http";
import { Gauge } from "prom-client";
import type { Metrics } from "./metrics.ts";

/** One dependency the process needs to serve traffic (a database, Redis, ...). */
export interface ReadinessCheck {
  name: string;
  /** Resolves when healthy; rejects (or times out) when not. */
  check: () => Promise<unknown>;
  /**
   * False: a failure is reported in the details (`critical: false`) but leaves the process ready, for a
   * dependency the process can do without for a while (e.g. the service registry while a last known list serves).
   * @default true
   */
  critical?: boolean;
}

/** What `/health/ready` answers. */
export interface HealthReport {
  status: "ok" | "unavailable";
  checks: Record<string, { status: "ok" | "fail"; error?: string; durationMs: number; critical?: false }>;
}

/** Runs every check in parallel, each bounded by `timeoutMs`. */
export async function runReadinessChecks(checks: readonly ReadinessCheck[], timeoutMs = 2000): Promise<HealthReport> {
  const entries = await Promise.all(
    checks.map(async ({ name, check, critical }) => {
      const flag = critical === false ? { critical: false as const } : {};
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          check(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return [name, { status: "ok" as const, durationMs: Math.round(performance.now() - started) }] as const;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return [name, { status: "fail" as const, error: message, durationMs: Math.round(performance.now() - started), ...flag }] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const report = Object.fromEntries(entries);
  const ready = entries.every(([, r]) => r.status === "ok" || ("critical" in r && r.critical === false));
  return { status: ready ? "ok" : "unavailable", checks: report };
}

/** The last result of one background check. */
export interface CachedCheckResult {
  /** `unknown` until the first run finished. */
  status: "ok" | "fail" | "unknown";
  error?: string;
  durationMs?: number;
  /** When the result was taken (ISO-8601). */
  checkedAt?: string;
}

/** Options of {@link createBackgroundChecks}. */
export interface BackgroundChecksOptions {
  checks: readonly ReadinessCheck[];
  /** Exposes `health_check_up{check}` (1 or 0) and `health_check_duration_seconds{check}` on this registry. */
  metrics: Metrics;
  /**
   * Time between two runs.
   * @default 5000
   */
  intervalMs?: number;
  /**
   * Timeout of each check.
   * @default 2000
   */
  timeoutMs?: number;
  /** Called when a check changes status (log it). */
  onChange?: (name: string, result: CachedCheckResult) => void;
}

/** Checks run in the background on a timer; probes read their last results instead of running them. */
export interface BackgroundChecks {
  /** Runs every check now, then every `intervalMs`. Idempotent. */
  start(): void;
  /** Stops the timer. Idempotent. */
  stop(): void;
  /** Runs every check now (tests, or a caller that cannot wait for the timer); resolves with the results. */
  refresh(): Promise<Record<string, CachedCheckResult>>;
  /** The last result of every check. */
  report(): Record<string, CachedCheckResult>;
}

/**
 * Background checks of the dependencies a process reports on but does not depend on to serve (the gateway's
 * subgraphs): one run per interval whatever the number of probes (a probe never fans out to the dependencies),
 * each run bounded by `timeoutMs` per check; a run still in progress when the next is due is not doubled. The
 * results also go to metrics, so dashboards and alerts see each dependency's state without probing it.
 */
export function createBackgroundChecks(options: BackgroundChecksOptions): BackgroundChecks {
  const intervalMs = options.intervalMs ?? 5000;
  const results: Record<string, CachedCheckResult> = Object.fromEntries(options.checks.map((c) => [c.name, { status: "unknown" }]));
  // Get-or-create: two users of one registry (gateways in one process, as in the tests) share the series.
  const registry = options.metrics.registry;
  const gauge = (name: string, help: string) =>
    (registry.getSingleMetric(name) as Gauge<"check"> | undefined) ??
    new Gauge({ name, help, labelNames: ["check"], registers: [registry] });
  const up = gauge("health_check_up", "Last result of a background health check: 1 ok, 0 failing.");
  const duration = gauge("health_check_duration_seconds", "Duration of the last run of a background health check.");
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<Record<string, CachedCheckResult>> | undefined;

  const refresh = () =>
    (running ??= runReadinessChecks(options.checks, options.timeoutMs)
      .then((report) => {
        const checkedAt = new Date().toISOString();
        for (const [name, result] of Object.entries(report.checks)) {
          const previous = results[name]?.status;
          results[name] = { ...result, checkedAt };
          up.set({ check: name }, result.status === "ok" ? 1 : 0);
          duration.set({ check: name }, result.durationMs / 1000);
          if (previous !== result.status) options.onChange?.(name, results[name]!);
        }
        return { ...results };
      })
      .finally(() => (running = undefined)));

  return {
    start() {
      if (timer) return;
      void refresh();
      timer = setInterval(() => void refresh(), intervalMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
    refresh,
    report: () => ({ ...results }),
  };
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** Options of {@link createObservabilityHandlers}. */
export interface ObservabilityHandlersOptions {
  metrics: Metrics;
  checks: readonly ReadinessCheck[];
  /** @default 2000 */
  checkTimeoutMs?: number;
  /** While true, `/health/ready` answers 503 so load balancers drain the process before it stops. */
  isShuttingDown?: () => boolean;
  /**
   * Dependencies reported in the readiness body (`dependencies`) from their cached background results, without
   * deciding readiness (the gateway's subgraphs: one subgraph down must not take every gateway out of rotation).
   */
  dependencies?: Pick<BackgroundChecks, "report">;
}

/**
 * Handlers for `/health/live` (the process answers), `/health/ready` (its checks pass; 503 otherwise; with the
 * cached state of the informational `dependencies`) and `/metrics` (Prometheus text format). Plain node handlers,
 * usable from express or `http.createServer`.
 */
export function createObservabilityHandlers(
  options: ObservabilityHandlersOptions,
): Record<"/health/live" | "/health/ready" | "/metrics", Handler> {
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.statusCode = status;
    res.setHeader("content-type", "application/json; charset=utf-8");
    res.setHeader("cache-control", "no-store");
    res.end(JSON.stringify(body));
  };
  return {
    "/health/live": (_req, res) => json(res, 200, { status: "ok" }),
    "/health/ready": (_req, res) => {
      if (options.isShuttingDown?.()) return json(res, 503, { status: "unavailable", reason: "shutting down", checks: {} });
      runReadinessChecks(options.checks, options.checkTimeoutMs).then(
        (report) =>
          json(
            res,
            report.status === "ok" ? 200 : 503,
            options.dependencies ? { ...report, dependencies: options.dependencies.report() } : report,
          ),
        (error: unknown) => json(res, 503, { status: "unavailable", error: String(error), checks: {} }),
      );
    },
    "/metrics": (_req, res) => {
      options.metrics.registry.metrics().then(
        (text) => {
          res.statusCode = 200;
          res.setHeader("content-type", options.metrics.registry.contentType);
          res.end(text);
        },
        (error: unknown) => json(res, 500, { error: String(error) }),
      );
    },
  };
}
