import pino, { type DestinationStream, type Logger } from "pino";
import { currentRequestContext } from "./context.ts";
import { activeTraceIds } from "./trace-context.ts";

export type { Logger };

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Name of the process, added to every line as `service`. */
  service: string;
  /**
   * Minimum level.
   * @default "info"
   */
  level?: string;
  /**
   * Human-readable colored output (development) instead of one JSON object per line (production).
   * @default false
   */
  pretty?: boolean;
  /**
   * Where JSON lines go (ignored with `pretty`). Tests pass a stream to read the lines back.
   * @default stdout
   */
  destination?: DestinationStream;
}

/**
 * A pino logger that adds `service`, the current request and correlation ids and, with tracing on, the active
 * span's `trace_id` and `span_id` to every line.
 * Secrets in common places (authorization headers, passwords, tokens) are redacted.
 */
export function createLogger(options: LoggerOptions): Logger {
  const settings: pino.LoggerOptions = {
    level: options.level ?? "info",
    base: { service: options.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin() {
      const ctx = currentRequestContext();
      const ids = ctx ? { requestId: ctx.requestId, correlationId: ctx.correlationId } : {};
      // With tracing on, every line written inside a span names it, so a log line leads to its trace.
      const traceIds = activeTraceIds();
      return traceIds ? { ...ids, ...traceIds } : ids;
    },
    redact: {
      // Top-level keys and one level down (pino's `*` is a single level); headers by their exact path.
      paths: [
        "req.headers.authorization",
        "req.headers.cookie",
        'req.headers["x-internal-secret"]',
        "headers.authorization",
        'headers["x-internal-secret"]',
        "password",
        "token",
        "paymentToken",
        "*.password",
        "*.token",
        "*.paymentToken",
        "variables.password",
        "variables.input.password",
        "variables.input.paymentToken",
      ],
      censor: "[redacted]",
    },
    ...(options.pretty
      ? { transport: { target: "pino-pretty", options: { colorize: true, translateTime: "HH:MM:ss.l", ignore: "pid,hostname" } } }
      : {}),
  };
  return options.destination && !options.pretty ? pino(settings, options.destination) : pino(settings);
}

/**
 * Resolves once every line `logger` was given has reached its destination (at most `timeoutMs` later), for use
 * right before `process.exit`. pino writes to stdout asynchronously and its own exit hook only writes what is
 * still buffered: a line whose write is in flight at exit can be overtaken by later lines, or lost.
 */
export function flushLogger(logger: Logger, timeoutMs = 1000): Promise<void> {
  // The destination is a SonicBoom (stdout, files) or a transport stream; `_writing` is SonicBoom's in-flight flag,
  // 'drain' its all-written event. Other destinations (test captures) write synchronously.
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as
    { _writing?: boolean; once?: (event: "drain", listener: () => void) => unknown } | undefined;
  if (!stream?._writing || typeof stream.once !== "function") return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    stream.once!("drain", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
