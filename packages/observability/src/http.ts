import type { IncomingMessage, ServerResponse } from "node:http";
import {
  CORRELATION_ID_HEADER,
  REQUEST_ID_HEADER,
  requestContextFromHeaders,
  runWithRequestContext,
  type RequestContext,
} from "./context.ts";
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
    // "close" fires for every request, "finish" only for completed ones: a client that gives up (often the
    // slowest requests) is recorded too, as 499 (the nginx convention for "client closed request").
    res.once("close", () => end({ status_code: res.writableFinished ? String(res.statusCode) : "499" }));
    bindEmitter(req, ctx);
    bindEmitter(res, ctx);
    runWithRequestContext(ctx, () => next());
  };
}

/**
 * Makes listeners of `emitter` run in the request's context. Stream events (`data`, `end`, `close`) are emitted
 * from the socket's async context, which predates the request: without this, a handler that reads the body
 * itself (or reacts to `close`) would log without the request's ids.
 */
function bindEmitter(emitter: IncomingMessage | ServerResponse, ctx: RequestContext): void {
  const emit = emitter.emit;
  emitter.emit = function (this: typeof emitter, ...args: Parameters<typeof emit>) {
    return runWithRequestContext(ctx, () => emit.apply(this, args));
  } as typeof emit;
}
