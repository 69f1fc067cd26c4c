import type { IncomingMessage, ServerResponse } from "node:http";
import { CORRELATION_ID_HEADER, REQUEST_ID_HEADER, requestContextFromHeaders, runWithRequestContext } from "./context.ts";
import type { Metrics } from "./metrics.ts";

type Next = (err?: unknown) => void;

/** Options of {@link createRequestMiddleware}. */
export interface RequestMiddlewareOptions {
  metrics: Metrics;
  /**
   * Maps a request path to a bounded route label (unknown paths share one label, so scanners cannot blow up
   * the metric's cardinality).
   * @default keeps /graphql, /health/*, /metrics and /.well-known/*, else "other"
   */
  routeLabel?: (path: string) => string;
}

const defaultRouteLabel = (path: string) =>
  path === "/graphql" || path === "/metrics" || path.startsWith("/health/") || path.startsWith("/.well-known/") ? path : "other";

/**
 * Express/connect middleware: gives each request a request id and a correlation id (echoed in response
 * headers, present in every log line written while handling it) and records its duration.
 */
export function createRequestMiddleware(options: RequestMiddlewareOptions) {
  const routeLabel = options.routeLabel ?? defaultRouteLabel;
  return (req: IncomingMessage, res: ServerResponse, next: Next) => {
    const ctx = requestContextFromHeaders(req.headers);
    res.setHeader(REQUEST_ID_HEADER, ctx.requestId);
    res.setHeader(CORRELATION_ID_HEADER, ctx.correlationId);
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const end = options.metrics.httpRequestDuration.startTimer({ method: req.method ?? "GET", route: routeLabel(path) });
    res.on("finish", () => end({ status_code: String(res.statusCode) }));
    runWithRequestContext(ctx, () => next());
  };
}
