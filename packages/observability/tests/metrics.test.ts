import { describe, expect, it } from "vitest";
import { createMetrics } from "@ecom/observability";

describe("createMetrics", () => {
  it("exposes db_statements_total, counting up from 0 with the service label", async () => {
    const metrics = createMetrics({ service: "metrics-unit", defaultMetrics: false });
    const before = await metrics.registry.metrics();
    expect(before).toContain("# HELP db_statements_total SQL statements sent to the service's database");
    expect(before).toContain("# TYPE db_statements_total counter");
    expect(before).toContain('db_statements_total{service="metrics-unit"} 0');

    metrics.dbStatements.inc();
    metrics.dbStatements.inc();
    expect(await metrics.registry.metrics()).toContain('db_statements_total{service="metrics-unit"} 2');
  });

  it("keeps one registry per call: two processes' counters never mix", async () => {
    const a = createMetrics({ service: "a", defaultMetrics: false });
    const b = createMetrics({ service: "b", defaultMetrics: false });
    a.dbStatements.inc(5);
    expect(await b.registry.metrics()).toContain('db_statements_total{service="b"} 0');
  });
});
