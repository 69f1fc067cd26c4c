import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CORRELATION_ID_HEADER,
  REQUEST_ID_HEADER,
  createLogger,
  createMetrics,
  createObservabilityHandlers,
  createRequestMiddleware,
  currentRequestContext,
  requestContextFromHeaders,
} from "@ecom/observability";

/** The sample line of `name` carrying every label in `labels` (prom-client's label order is not fixed). */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A pino destination that keeps every line, parsed. */
function captureLines() {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, stream: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } };
}

const captured = captureLines();
const logger = createLogger({ service: "obs-test", level: "debug", destination: captured.stream });
const metrics = createMetrics({ service: "obs-test" });
let failRedis = false;
let shuttingDown = false;
const handlers = createObservabilityHandlers({
  metrics,
  checks: [
    { name: "postgres", check: async () => {} },
    { name: "redis", check: async () => (failRedis ? Promise.reject(new Error("connect ECONNREFUSED")) : undefined) },
  ],
  isShuttingDown: () => shuttingDown,
});
const middleware = createRequestMiddleware({ metrics });
/** Responses of /events, by x-tag, for the test to answer. */
const waiting = new Map<string, http.ServerResponse>();

// A bare node server: the middleware, then the health routes, then two routes that log.
const server = http.createServer((req, res) => {
  middleware(req, res, () => {
    const path = (req.url ?? "/").split("?")[0] as string;
    const handler = handlers[path as keyof typeof handlers];
    if (handler) return handler(req, res);
    if (path === "/work") {
      // Log across async hops: body stream events, then a timer.
      logger.info({ step: "start", tag: req.headers["x-tag"] }, "work");
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        logger.info({ step: "body", tag: req.headers["x-tag"], bytes: body.length }, "work");
        setTimeout(() => {
          logger.info({ step: "timer", tag: req.headers["x-tag"] }, "work");
          res.end(JSON.stringify(currentRequestContext()));
        }, 20);
      });
      return;
    }
    if (path === "/events") {
      // Listeners of the response's and the request's own stream events. The test answers from its own context
      // (as a batch flushed by another request would), so they fire where no request's context is current.
      const tag = String(req.headers["x-tag"]);
      res.on("finish", () => logger.info({ step: "res finish", tag }, "events"));
      res.once("close", () => logger.info({ step: "res close", tag }, "events"));
      req.on("close", () => logger.info({ step: "req close", tag }, "events"));
      req.resume();
      waiting.set(tag, res);
      return;
    }
    if (path === "/hang") return; // never answers: the client gives up
    res.statusCode = 404;
    res.end();
  });
});
let base = "";

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe("health endpoints", () => {
  it("/health/live answers 200", async () => {
    const res = await fetch(`${base}/health/live`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("/health/ready answers 200 when every check passes and 503 with per-check detail when one fails", async () => {
    const ok = await fetch(`${base}/health/ready`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ status: "ok", checks: { postgres: { status: "ok" }, redis: { status: "ok" } } });
    failRedis = true;
    try {
      const bad = await fetch(`${base}/health/ready`);
      expect(bad.status).toBe(503);
      expect(bad.headers.get("content-type")).toMatch(/^application\/json/);
      expect(await bad.json()).toMatchObject({
        status: "unavailable",
        checks: { postgres: { status: "ok" }, redis: { status: "fail", error: "connect ECONNREFUSED" } },
      });
    } finally {
      failRedis = false;
    }
  });

  it("/health/ready answers 503 while shutting down; /health/live still answers 200", async () => {
    shuttingDown = true;
    try {
      const res = await fetch(`${base}/health/ready`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ status: "unavailable", reason: "shutting down" });
      expect((await fetch(`${base}/health/live`)).status).toBe(200);
    } finally {
      shuttingDown = false;
    }
  });
});

describe("/metrics", () => {
  it("serves Prometheus text with default process metrics and the HTTP histogram", async () => {
    await fetch(`${base}/health/live`);
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toContain("# TYPE process_cpu_user_seconds_total counter");
    expect(text).toMatch(/^process_resident_memory_bytes\{service="obs-test"\} \d+/m);
    expect(text).toContain("# TYPE nodejs_eventloop_lag_seconds gauge");
    expect(text).toContain("# TYPE http_request_duration_seconds histogram");
    const live = { method: "GET", route: "/health/live", status_code: "200", service: "obs-test" };
    expect(sample(text, "http_request_duration_seconds_bucket", { ...live, le: "0.005" })).toBeGreaterThanOrEqual(0);
    expect(sample(text, "http_request_duration_seconds_bucket", { ...live, le: "+Inf" })).toBeGreaterThanOrEqual(1);
    expect(sample(text, "http_request_duration_seconds_count", live)).toBeGreaterThanOrEqual(1);
    expect(sample(text, "http_request_duration_seconds_sum", live)).toBeGreaterThan(0);
    expect(text).toContain("# TYPE graphql_operation_duration_seconds histogram");
    expect(text).toContain("# TYPE graphql_errors_total counter");
  });

  it("labels unknown paths as one route so scanners cannot explode cardinality", async () => {
    await fetch(`${base}/wp-admin/${Math.random()}`);
    await fetch(`${base}/.env`);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(sample(text, "http_request_duration_seconds_count", { route: "other", status_code: "404" })).toBe(2);
    expect(text).not.toContain("wp-admin");
  });

  it("records requests the client abandoned, as status 499", async () => {
    await expect(fetch(`${base}/hang`, { signal: AbortSignal.timeout(100) })).rejects.toThrow();
    // The server sees the socket close shortly after the client aborts.
    await expect
      .poll(async () =>
        sample(await metrics.registry.getSingleMetricAsString("http_request_duration_seconds"), "http_request_duration_seconds_count", {
          route: "other",
          status_code: "499",
        }),
      )
      .toBe(1);
  });
});

describe("request and correlation ids", () => {
  it("assigns a new request id per request and uses it as correlation id when the client sent none", async () => {
    const a = await fetch(`${base}/health/live`);
    const b = await fetch(`${base}/health/live`);
    const idA = a.headers.get(REQUEST_ID_HEADER);
    expect(idA).toMatch(UUID);
    expect(b.headers.get(REQUEST_ID_HEADER)).toMatch(UUID);
    expect(b.headers.get(REQUEST_ID_HEADER)).not.toBe(idA);
    expect(a.headers.get(CORRELATION_ID_HEADER)).toBe(idA);
  });

  it("keeps a safe incoming correlation id, with a request id of its own", async () => {
    const res = await fetch(`${base}/health/live`, { headers: { [CORRELATION_ID_HEADER]: "web-42.checkout:abc_DEF" } });
    expect(res.headers.get(CORRELATION_ID_HEADER)).toBe("web-42.checkout:abc_DEF");
    expect(res.headers.get(REQUEST_ID_HEADER)).toMatch(UUID);
  });

  it("takes an incoming x-request-id as correlation id when no correlation id is sent", async () => {
    const res = await fetch(`${base}/health/live`, { headers: { [REQUEST_ID_HEADER]: "client-req-1" } });
    expect(res.headers.get(CORRELATION_ID_HEADER)).toBe("client-req-1");
    expect(res.headers.get(REQUEST_ID_HEADER)).not.toBe("client-req-1");
  });

  it.each([
    ["too long", "a".repeat(129)],
    ["with spaces and markup", "<script>alert(1)</script> x"],
    ["with a JSON quote", 'abc"}'],
  ])("replaces an unsafe incoming correlation id (%s) over HTTP", async (_label, unsafe) => {
    const res = await fetch(`${base}/health/live`, { headers: { [CORRELATION_ID_HEADER]: unsafe } });
    const requestId = res.headers.get(REQUEST_ID_HEADER);
    expect(requestId).toMatch(UUID);
    expect(res.headers.get(CORRELATION_ID_HEADER)).toBe(requestId);
  });

  it("replaces ids containing newlines or control characters (header injection, forged log lines)", () => {
    // Node's HTTP parser already refuses raw newlines on the wire; the check must not rely on that.
    for (const unsafe of ["abc\ninjected: 1", "abc\r\nx", "abc\u0000", "", "a".repeat(129)]) {
      const ctx = requestContextFromHeaders({ [CORRELATION_ID_HEADER]: unsafe, [REQUEST_ID_HEADER]: unsafe });
      expect(ctx.correlationId).toBe(ctx.requestId);
      expect(ctx.requestId).toMatch(UUID);
    }
    expect(requestContextFromHeaders({ [CORRELATION_ID_HEADER]: "a".repeat(128) }).correlationId).toBe("a".repeat(128));
    expect(requestContextFromHeaders({ [CORRELATION_ID_HEADER]: ["first", "second"] }).correlationId).toBe("first");
  });

  it("puts both ids on every log line written while handling the request, across async hops", async () => {
    const tag = `t-${Math.random()}`;
    const res = await fetch(`${base}/work`, {
      method: "POST",
      body: "x".repeat(100_000),
      headers: { [CORRELATION_ID_HEADER]: "corr-1", "x-tag": tag },
    });
    const ctx = (await res.json()) as { requestId: string; correlationId: string };
    expect(ctx).toEqual({ requestId: res.headers.get(REQUEST_ID_HEADER), correlationId: "corr-1" });
    const mine = captured.lines.filter((l) => l["tag"] === tag);
    expect(mine.map((l) => l["step"])).toEqual(["start", "body", "timer"]);
    for (const line of mine) {
      expect(line).toMatchObject({ service: "obs-test", requestId: ctx.requestId, correlationId: "corr-1", msg: "work", level: 30 });
    }
  });

  it("puts both ids on lines written by 'finish' and 'close' listeners, even when the answer is sent from outside the request", async () => {
    const tags = Array.from({ length: 4 }, (_, i) => `e-${i}-${Math.random()}`);
    const sent = tags.map(async (tag, i) => {
      const res = await fetch(`${base}/events`, { headers: { [CORRELATION_ID_HEADER]: `corr-e${i}`, "x-tag": tag } });
      await res.text();
      return { tag, requestId: res.headers.get(REQUEST_ID_HEADER), correlationId: `corr-e${i}` };
    });
    await expect.poll(() => tags.every((tag) => waiting.has(tag))).toBe(true);
    expect(currentRequestContext()).toBeUndefined();
    for (const tag of tags.reverse()) waiting.get(tag)!.end("ok");
    for (const { tag, requestId, correlationId } of await Promise.all(sent)) {
      await expect.poll(() => captured.lines.filter((l) => l["tag"] === tag).length).toBe(3);
      const mine = captured.lines.filter((l) => l["tag"] === tag);
      expect(mine.map((l) => l["step"]).sort()).toEqual(["req close", "res close", "res finish"]);
      for (const line of mine) expect(line).toMatchObject({ requestId, correlationId });
    }
  });

  it("keeps concurrent requests' ids apart", async () => {
    const tags = Array.from({ length: 5 }, (_, i) => `c-${i}-${Math.random()}`);
    const results = await Promise.all(
      tags.map(async (tag) => {
        const res = await fetch(`${base}/work`, {
          method: "POST",
          body: tag,
          headers: { [CORRELATION_ID_HEADER]: `corr-${tag.slice(2, 3)}`, "x-tag": tag },
        });
        return { tag, requestId: res.headers.get(REQUEST_ID_HEADER) };
      }),
    );
    for (const { tag, requestId } of results) {
      const mine = captured.lines.filter((l) => l["tag"] === tag);
      expect(mine).toHaveLength(3);
      for (const line of mine) expect(line).toMatchObject({ requestId, correlationId: `corr-${tag.slice(2, 3)}` });
    }
  });

  it("writes no ids on lines outside a request", () => {
    logger.info({ tag: "outside" }, "boot");
    const line = captured.lines.find((l) => l["tag"] === "outside");
    expect(line).toBeDefined();
    expect(line).not.toHaveProperty("requestId");
    expect(line).not.toHaveProperty("correlationId");
  });
});

describe("createLogger", () => {
  it("redacts credentials in common places", () => {
    logger.info(
      {
        tag: "redact",
        req: { headers: { authorization: "Bearer secret-token", cookie: "sid=1", "x-internal-secret": "s3cret", accept: "*/*" } },
        token: "top-level-token",
        password: "hunter2",
        variables: { input: { email: "a@b.c", password: "hunter2", paymentToken: "tok_visa" } },
        user: { password: "hunter2" },
      },
      "redaction",
    );
    const line = captured.lines.find((l) => l["tag"] === "redact");
    const text = JSON.stringify(line);
    for (const secret of ["secret-token", "sid=1", "s3cret", "top-level-token", "hunter2", "tok_visa"]) expect(text).not.toContain(secret);
    expect(line).toMatchObject({
      req: { headers: { accept: "*/*", authorization: "[redacted]" } },
      variables: { input: { email: "a@b.c" } },
    });
  });

  it("respects the level", () => {
    const c = captureLines();
    const quiet = createLogger({ service: "q", level: "warn", destination: c.stream });
    quiet.info("hidden");
    quiet.warn("shown");
    expect(c.lines.map((l) => l["msg"])).toEqual(["shown"]);
  });
});
