import { describe, expect, it } from "vitest";
import { resolveTracingConfig, serviceNameFromEntry, tracingEnvSchema } from "../src/env.ts";

const config = (env: Record<string, string>) => resolveTracingConfig(tracingEnvSchema.parse(env));

describe("tracing configuration (OTel environment conventions)", () => {
  it("is off by default", () => {
    expect(config({})).toEqual({ enabled: false });
  });

  it("is on when an OTLP endpoint is set, exporting protobuf to <endpoint>/v1/traces", () => {
    expect(config({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" })).toEqual({
      enabled: true,
      exporter: "otlp",
      url: "http://collector:4318/v1/traces",
      protocol: "http/protobuf",
      serviceName: undefined,
    });
  });

  it("takes the traces-specific endpoint and protocol over the general ones", () => {
    expect(
      config({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://a:4318",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://b:4318/custom/traces",
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
        OTEL_SERVICE_NAME: "orders-canary",
      }),
    ).toMatchObject({ url: "http://b:4318/custom/traces", protocol: "http/json", serviceName: "orders-canary" });
  });

  it("OTEL_TRACES_ENABLED=true alone exports to the local collector's default port", () => {
    expect(config({ OTEL_TRACES_ENABLED: "true" })).toMatchObject({ enabled: true, url: "http://localhost:4318/v1/traces" });
  });

  it("is off when switched off, whatever endpoint is set", () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" };
    expect(config({ ...endpoint, OTEL_TRACES_ENABLED: "false" })).toEqual({ enabled: false });
    expect(config({ ...endpoint, OTEL_SDK_DISABLED: "true" })).toEqual({ enabled: false });
    expect(config({ ...endpoint, OTEL_TRACES_EXPORTER: "none" })).toEqual({ enabled: false });
  });

  it("refuses what it cannot do, naming the fix", () => {
    const grpc = tracingEnvSchema.safeParse({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" });
    expect(grpc.success).toBe(false);
    expect(grpc.error?.issues[0]?.message).toContain("4318");
    expect(tracingEnvSchema.safeParse({ OTEL_TRACES_ENABLED: "maybe" }).success).toBe(false);
    expect(tracingEnvSchema.safeParse({ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" }).success).toBe(false);
  });

  it("names each deployable after its boot file", () => {
    expect(serviceNameFromEntry("/app/subgraphs/orders/src/index.ts")).toBe("orders");
    expect(serviceNameFromEntry("/app/subgraphs/orders/src/worker.ts")).toBe("orders-worker");
    expect(serviceNameFromEntry("/app/gateway/src/index.ts")).toBe("gateway");
    // The images run bundles (Dockerfile: dist/index.js, dist/worker.js in the workspace folder).
    expect(serviceNameFromEntry("/app/subgraphs/orders/dist/worker.js")).toBe("orders-worker");
    expect(serviceNameFromEntry("/app/gateway/dist/index.js")).toBe("gateway");
    expect(serviceNameFromEntry(undefined)).toBeUndefined();
  });
});
