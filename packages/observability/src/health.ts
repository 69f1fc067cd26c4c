import type { IncomingMessage, ServerResponse } from "node:http";
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

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** Options of {@link createObservabilityHandlers}. */
export interface ObservabilityHandlersOptions {
  metrics: Metrics;
  checks: readonly ReadinessCheck[];
  /** @default 2000 */
  checkTimeoutMs?: number;
  /** While true, `/health/ready` answers 503 so load balancers drain the process before it stops. */
  isShuttingDown?: () => boolean;
}

/**
 * Handlers for `/health/live` (the process answers), `/health/ready` (its dependencies answer; 503 otherwise)
 * and `/metrics` (Prometheus text format). Plain node handlers, usable from express or `http.createServer`.
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
        (report) => json(res, report.status === "ok" ? 200 : 503, report),
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
