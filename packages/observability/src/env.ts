/**
 * Tracing configuration, read with the OpenTelemetry environment conventions (the same variables every OTel SDK
 * reads, so a platform's existing settings apply). Only what this package decides on is parsed here; the rest
 * (OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_TIMEOUT, OTEL_TRACES_SAMPLER(_ARG), OTEL_BSP_*,
 * OTEL_RESOURCE_ATTRIBUTES) is read by the SDK itself.
 */
import path from "node:path";
import { booleanFlag, httpUrl, loadEnvOrExit, z, type RawEnv } from "@ecom/config";

const protocol = z.enum(["http/protobuf", "http/json"], {
  error: "must be http/protobuf or http/json (gRPC export is not bundled: point it at a collector's OTLP/HTTP port, 4318)",
});

/** The tracing variables of every process. */
export const tracingEnvSchema = z.object({
  /** OTel's kill switch: true turns every signal off, whatever else is set. */
  OTEL_SDK_DISABLED: booleanFlag(false),
  /** Tracing on or off; unset, it is on exactly when an OTLP endpoint is configured. */
  OTEL_TRACES_ENABLED: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return undefined;
      const parsed = booleanFlag(false).safeParse(v);
      if (parsed.success) return parsed.data;
      ctx.addIssue({ code: "custom", message: parsed.error.issues[0]?.message ?? "must be true or false" });
      return z.NEVER;
    }),
  /** `otlp` exports over OTLP/HTTP, `console` prints spans (debugging), `none` turns tracing off. */
  OTEL_TRACES_EXPORTER: z.enum(["otlp", "console", "none"]).default("otlp"),
  /** Base URL of the OTLP receiver; traces go to `<base>/v1/traces`. */
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl().optional(),
  /** Full URL for traces (wins over the base URL). */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: httpUrl().optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: protocol.default("http/protobuf"),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: protocol.optional(),
  /** `service.name` of every span; by default the deployable's name (see tracing.ts). */
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
});

/** What {@link resolveTracingConfig} makes of the environment. */
export type TracingConfig =
  | { enabled: false }
  | { enabled: true; exporter: "otlp"; url: string; protocol: "http/protobuf" | "http/json"; serviceName: string | undefined }
  | { enabled: true; exporter: "console"; serviceName: string | undefined };

/** Off by default; on with OTEL_TRACES_ENABLED=true or an OTLP endpoint; OTEL_SDK_DISABLED or exporter `none` win. */
export function resolveTracingConfig(env: z.infer<typeof tracingEnvSchema>): TracingConfig {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const enabled = !env.OTEL_SDK_DISABLED && env.OTEL_TRACES_EXPORTER !== "none" && (env.OTEL_TRACES_ENABLED ?? endpoint !== undefined);
  if (!enabled) return { enabled: false };
  if (env.OTEL_TRACES_EXPORTER === "console") return { enabled: true, exporter: "console", serviceName: env.OTEL_SERVICE_NAME };
  const url =
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    `${(env.OTEL_EXPORTER_OTLP_ENDPOINT ?? "http://localhost:4318").replace(/\/+$/, "")}/v1/traces`;
  return {
    enabled: true,
    exporter: "otlp",
    url,
    protocol: env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL,
    serviceName: env.OTEL_SERVICE_NAME,
  };
}

/** Reads the tracing configuration; exits with every problem listed when invalid. */
export function loadTracingConfig(env: RawEnv = process.env): TracingConfig {
  return resolveTracingConfig(loadEnvOrExit("tracing", tracingEnvSchema, env));
}

/**
 * The deployable's name from its boot file: `subgraphs/orders/src/index.ts` -> `orders`, `.../src/worker.ts` ->
 * `orders-worker`, `gateway/src/index.ts` -> `gateway`, and the same for the images' bundles
 * (`/app/subgraphs/orders/dist/worker.js` -> `orders-worker`). OTEL_SERVICE_NAME wins (the manifests set it).
 */
export function serviceNameFromEntry(entry: string | undefined): string | undefined {
  if (!entry) return undefined;
  const parts = path.resolve(entry).split(path.sep);
  const src = Math.max(parts.lastIndexOf("src"), parts.lastIndexOf("dist"));
  const name = src > 0 ? parts[src - 1] : undefined;
  if (!name) return undefined;
  const file = path.basename(entry).replace(/\.[cm]?[jt]s$/, "");
  return file === "index" || file === "main" ? name : `${name}-${file}`;
}
