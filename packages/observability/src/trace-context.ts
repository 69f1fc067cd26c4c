import { context, trace } from "@opentelemetry/api";

/**
 * The ids of the active span, for log lines, under the names OTel's log data model gives them (`trace_id`,
 * `span_id`), which log backends correlate traces on. Undefined when no span is active (tracing off: the OTel API
 * is then a no-op and this costs one lookup).
 */
export function activeTraceIds(): { trace_id: string; span_id: string } | undefined {
  const ids = trace.getSpan(context.active())?.spanContext();
  if (!ids || !trace.isSpanContextValid(ids)) return undefined;
  return { trace_id: ids.traceId, span_id: ids.spanId };
}

// Set by tracing.ts when tracing runs; kept here so that stopping a process (runUntilSignal) can flush spans
// without importing tracing.ts, whose import starts tracing.
let flushAndStop: (() => Promise<void>) | undefined;

/** Called by the tracing setup with its shutdown (export what is buffered, then stop). */
export function setTracingShutdown(shutdown: () => Promise<void>): void {
  flushAndStop = shutdown;
}

/**
 * Exports the spans still buffered and stops tracing (no-op while tracing is off); resolves within `timeoutMs`
 * whatever the collector does, so a slow collector never holds a stopping process.
 */
export function shutdownTracing(timeoutMs = 2000): Promise<void> {
  if (!flushAndStop) return Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([flushAndStop(), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]).finally(() =>
    clearTimeout(timer),
  );
}
