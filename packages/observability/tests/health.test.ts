import type { IncomingMessage, ServerResponse } from "node:http";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  createBackgroundChecks,
  createMetrics,
  createObservabilityHandlers,
  runReadinessChecks,
  type ReadinessCheck,
} from "@ecom/observability";

/** The part of ServerResponse the handlers use, recording what they answer. */
function fakeResponse() {
  const headers: Record<string, string> = {};
  let resolveEnded!: () => void;
  const ended = new Promise<void>((r) => (resolveEnded = r));
  const res = {
    statusCode: 200,
    body: "",
    headers,
    ended,
    setHeader(name: string, value: string) {
      headers[name.toLowerCase()] = value;
    },
    end(body?: string) {
      res.body = body ?? "";
      resolveEnded();
    },
  };
  return res;
}

const metrics = createMetrics({ service: "health-unit", defaultMetrics: false });
const req = {} as IncomingMessage;
const never = () => new Promise<never>(() => {});

async function ready(checks: ReadinessCheck[], opts: { checkTimeoutMs?: number; isShuttingDown?: () => boolean; advanceMs?: number } = {}) {
  const handlers = createObservabilityHandlers({ metrics, checks, ...opts });
  const res = fakeResponse();
  handlers["/health/ready"](req, res as unknown as ServerResponse);
  if (opts.advanceMs !== undefined) await vi.advanceTimersByTimeAsync(opts.advanceMs);
  await res.ended;
  return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, unknown>, headers: res.headers };
}

describe("readiness", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("answers 200 with every check ok", async () => {
    const r = await ready([
      { name: "postgres", check: async () => {} },
      { name: "redis", check: async () => "PONG" },
    ]);
    expect(r.status).toBe(200);
    expect(r.headers["cache-control"]).toBe("no-store");
    expect(r.body).toEqual({
      status: "ok",
      checks: { postgres: { status: "ok", durationMs: expect.any(Number) }, redis: { status: "ok", durationMs: expect.any(Number) } },
    });
  });

  it("answers 503 naming the failing check and its error, and still reports the healthy ones", async () => {
    const r = await ready([
      { name: "postgres", check: async () => {} },
      { name: "redis", check: async () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:6379")) },
    ]);
    expect(r.status).toBe(503);
    expect(r.body).toEqual({
      status: "unavailable",
      checks: {
        postgres: { status: "ok", durationMs: expect.any(Number) },
        redis: { status: "fail", error: "connect ECONNREFUSED 127.0.0.1:6379", durationMs: expect.any(Number) },
      },
    });
  });

  it("stays ready when only a non-critical check fails, and names that failure in the details", async () => {
    const r = await ready([
      { name: "postgres", check: async () => {} },
      { name: "registry", critical: false, check: async () => Promise.reject(new Error("registry unreachable")) },
    ]);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      status: "ok",
      checks: {
        postgres: { status: "ok", durationMs: expect.any(Number) },
        registry: { status: "fail", error: "registry unreachable", durationMs: expect.any(Number), critical: false },
      },
    });
    const critical = await ready([{ name: "registry", critical: true, check: async () => Promise.reject(new Error("down")) }]);
    expect(critical.status).toBe(503);
  });

  it("counts a check that throws synchronously as failed", async () => {
    const r = await ready([
      {
        name: "broken",
        check: () => {
          throw new Error("boom");
        },
      },
    ]);
    expect(r.status).toBe(503);
    expect(r.body["checks"]).toEqual({ broken: { status: "fail", error: "boom", durationMs: expect.any(Number) } });
  });

  it("answers 503 when a check hangs past the timeout (2 s by default)", async () => {
    const handlers = createObservabilityHandlers({
      metrics,
      checks: [
        { name: "postgres", check: never },
        { name: "redis", check: async () => {} },
      ],
    });
    const res = fakeResponse();
    let done = false;
    void res.ended.then(() => (done = true));
    handlers["/health/ready"](req, res as unknown as ServerResponse);
    await vi.advanceTimersByTimeAsync(1999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
    expect(res.statusCode).toBe(503);
    expect(JSON.parse(res.body)).toEqual({
      status: "unavailable",
      checks: {
        postgres: { status: "fail", error: "timed out after 2000 ms", durationMs: expect.any(Number) },
        redis: { status: "ok", durationMs: expect.any(Number) },
      },
    });
  });

  it("honours checkTimeoutMs", async () => {
    const r = await ready([{ name: "slow", check: never }], { checkTimeoutMs: 250, advanceMs: 250 });
    expect(r.status).toBe(503);
    expect(r.body["checks"]).toMatchObject({ slow: { status: "fail", error: "timed out after 250 ms" } });
  });

  it("clears its timers once checks answer", async () => {
    await runReadinessChecks([{ name: "fast", check: async () => {} }], 60_000);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("answers 503 while shutting down, without running the checks", async () => {
    const check = vi.fn(async () => {});
    const r = await ready([{ name: "postgres", check }], { isShuttingDown: () => true });
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ status: "unavailable", reason: "shutting down" });
    expect(check).not.toHaveBeenCalled();
  });

  it("answers 200 with no checks at all", async () => {
    const r = await ready([]);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ status: "ok", checks: {} });
  });
});

describe("background checks", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("run on a timer, not per probe, and readiness reports them without depending on them", async () => {
    const registry = createMetrics({ service: "bg-unit", defaultMetrics: false });
    let calls = 0;
    let healthy = false;
    const changes: string[] = [];
    const background = createBackgroundChecks({
      metrics: registry,
      intervalMs: 5000,
      checks: [
        {
          name: "subgraph:orders",
          check: async () => {
            calls += 1;
            if (!healthy) throw new Error("connection refused");
          },
        },
      ],
      onChange: (name, result) => changes.push(`${name}=${result.status}`),
    });
    expect(background.report()).toEqual({ "subgraph:orders": { status: "unknown" } });
    background.start();
    background.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toBe(1);

    const handlers = createObservabilityHandlers({
      metrics: registry,
      checks: [{ name: "supergraph", check: async () => {} }],
      dependencies: background,
    });
    for (let i = 0; i < 10; i++) {
      const res = fakeResponse();
      handlers["/health/ready"](req, res as unknown as ServerResponse);
      await res.ended;
      expect(res.statusCode).toBe(200);
      expect(JSON.parse(res.body)).toMatchObject({
        status: "ok",
        dependencies: { "subgraph:orders": { status: "fail", error: "connection refused", checkedAt: expect.any(String) } },
      });
    }
    expect(calls).toBe(1);
    expect(await registry.registry.getSingleMetricAsString("health_check_up")).toMatch(
      /health_check_up\{check="subgraph:orders",service="bg-unit"\} 0/,
    );

    healthy = true;
    await vi.advanceTimersByTimeAsync(5000);
    expect(calls).toBe(2);
    expect(background.report()["subgraph:orders"]?.status).toBe("ok");
    expect(await registry.registry.getSingleMetricAsString("health_check_up")).toMatch(/\} 1$/m);
    expect(changes).toEqual(["subgraph:orders=fail", "subgraph:orders=ok"]);

    background.stop();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(calls).toBe(2);
  });

  it("do not start a run while the previous one is still going", async () => {
    let calls = 0;
    const background = createBackgroundChecks({
      metrics: createMetrics({ service: "bg-unit-2", defaultMetrics: false }),
      intervalMs: 100,
      timeoutMs: 1000,
      checks: [{ name: "slow", check: () => ((calls += 1), never()) }],
    });
    background.start();
    await vi.advanceTimersByTimeAsync(550);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(600);
    expect(background.report()["slow"]).toMatchObject({ status: "fail", error: "timed out after 1000 ms" });
    expect(calls).toBe(2);
    background.stop();
  });
});
