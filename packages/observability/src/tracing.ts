/**
 * OpenTelemetry tracing of a process: imported first by every boot file (`import "@ecom/observability/tracing";`),
 * before anything it instruments is loaded. Off unless configured (env.ts: OTEL_TRACES_ENABLED or an OTLP
 * endpoint); when off, nothing below is started and the OTel API stays a no-op.
 *
 * What is traced, and how the trace crosses processes (W3C `traceparent`):
 * - incoming HTTP (instrumentation-http): the server span continues the caller's `traceparent`;
 * - the gateway's own work: @apollo/gateway creates spans through @opentelemetry/api (`gateway.request`, `.plan`,
 *   `.execute`, `.fetch` per subgraph call...), which land in this provider;
 * - outgoing HTTP through fetch / undici (instrumentation-undici, via undici's diagnostics channels, so also an
 *   undici Pool or `request()`): a client span, and `traceparent` injected into the request;
 * - SQL: @prisma/instrumentation. With Prisma 6.19's query compiler on @prisma/adapter-pg, the client itself
 *   wraps every statement in a `prisma:client:db_query` span carrying `db.query.text` (parameterised SQL, no
 *   values), as children of `prisma:client:operation`. Chosen over @opentelemetry/instrumentation-pg because it
 *   needs no module patching: Prisma reads a global hook at query time, so it works whatever the load order and
 *   under ESM, where patching `pg` (imported by the adapter as ESM) would need a loader flag (--import ...hook.mjs)
 *   on every process. It does not see SQL sent on the pool directly (readiness `SELECT 1`), which is fine.
 *
 * Versions: the 2.x SDK line (sdk-trace-node 2.12, instrumentation 0.223): the 3.x / 0.300 line needs Node 22.
 */
import { W3CBaggagePropagator, W3CTraceContextPropagator, CompositePropagator } from "@opentelemetry/core";
import { OTLPTraceExporter as OTLPJsonTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as OTLPProtoTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { HttpInstrumentation } from "@opentelemetry/instrumentation-http";
import { UndiciInstrumentation } from "@opentelemetry/instrumentation-undici";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, ConsoleSpanExporter, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import { PrismaInstrumentation } from "@prisma/instrumentation";
import { loadTracingConfig, serviceNameFromEntry, type TracingConfig } from "./env.ts";
import { setTracingShutdown } from "./trace-context.ts";

/** Requests that are noise in a trace: probes and scrapes, polled every few seconds by orchestrators. */
const UNTRACED_PATHS = /^\/(health\/|metrics)/;

/** The running tracing setup of this process (undefined while tracing is off). */
export interface Tracing {
  provider: NodeTracerProvider;
  serviceName: string;
  /** Exports what is buffered and stops; safe to call more than once. */
  shutdown(): Promise<void>;
}

let running: Tracing | undefined;

/** Starts tracing with `config` (once per process; later calls return the first setup). */
export function startTracing(config: TracingConfig, entry = process.argv[1]): Tracing | undefined {
  if (running || !config.enabled) return running;
  const serviceName = config.serviceName ?? serviceNameFromEntry(entry) ?? "unknown_service:node";
  let exporter: SpanExporter;
  if (config.exporter === "console") exporter = new ConsoleSpanExporter();
  else
    exporter =
      config.protocol === "http/json" ? new OTLPJsonTraceExporter({ url: config.url }) : new OTLPProtoTraceExporter({ url: config.url });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }),
    // Batch delay, queue and export sizes from OTEL_BSP_*; the sampler from OTEL_TRACES_SAMPLER (parent-based by default).
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  provider.register({
    propagator: new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  });
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({ ignoreIncomingRequestHook: (req) => UNTRACED_PATHS.test(req.url ?? "") }),
      new UndiciInstrumentation(),
      new PrismaInstrumentation(),
    ],
  });
  let stopping: Promise<void> | undefined;
  running = {
    provider,
    serviceName,
    shutdown: () => (stopping ??= provider.shutdown().catch(() => {})),
  };
  setTracingShutdown(running.shutdown);
  return running;
}

// The side effect this module is imported for.
startTracing(loadTracingConfig());
