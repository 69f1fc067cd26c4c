/**
 * Tracing with real processes: the gateway, users and orders (each over a private clone of its test database),
 * exporting OTLP/JSON to a receiver inside this test. One client request carrying a W3C `traceparent` must come
 * back as one trace: the gateway's spans, a server span in each subgraph it called (child of the gateway's call),
 * each subgraph's SQL statements, and log lines carrying the trace id. (Off by default: packages/observability's
 * tracing-config unit test.)
 */
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  createTestDatabase,
  getFreePort,
  startOtlpReceiver,
  startService,
  unreachableSubgraphs,
  type OtlpReceiver,
  type ReceivedSpan,
  type RunningProcess,
  type RunningService,
  type TestDatabase,
} from "@ecom/testing";

async function post(url: string, query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
}

describe("a traced request", () => {
  const run = inject("testRun");
  let receiver: OtlpReceiver;
  const dbs: TestDatabase[] = [];
  const processes: RunningProcess[] = [];
  let gatewayUrl: string;
  let users: RunningProcess;

  const tracingEnv = () => ({
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_BSP_SCHEDULE_DELAY: "100",
  });

  async function startSubgraph(name: "users" | "orders", extra: Record<string, string> = {}): Promise<RunningService> {
    const db = await createTestDatabase(run, name);
    dbs.push(db);
    const proc = await startService(name, {
      logLevel: "debug",
      env: { DATABASE_URL: db.url, ...tracingEnv(), ...extra },
      readyPath: "/health/ready",
    });
    processes.push(proc);
    return proc;
  }

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    const [u, o] = await Promise.all([
      startSubgraph("users"),
      startSubgraph("orders", { PRODUCTS_URL: `http://127.0.0.1:${await getFreePort()}/graphql` }),
    ]);
    users = u;
    const gateway = await startService("gateway", {
      env: {
        SUBGRAPH_USERS_URL: u.url,
        SUBGRAPH_ORDERS_URL: o.url,
        JWKS_URL: `${u.origin}/.well-known/jwks.json`,
        SUBGRAPH_TIMEOUT: "20s",
        // Rate-limit counters and live configuration of this file only: under the default prefix they are shared
        // with every gateway on the machine (register-ip allows 10 a 10 minutes per address).
        CONTROL_PLANE_PREFIX: `${inject("testRun").redisPrefix}tracing-e2e:`,
        SUPERGRAPH_WATCH: "false",
        ...(await unreachableSubgraphs(["users", "orders"])),
        ...tracingEnv(),
      },
      readyPath: "/health/live",
    });
    processes.push(gateway);
    gatewayUrl = gateway.url;
  });

  afterAll(async () => {
    await Promise.allSettled(processes.map((p) => p.stop()));
    await Promise.allSettled(dbs.map((db) => db.drop()));
    await receiver?.close();
  });

  it("shows spans for the gateway, each subgraph it called and their SQL, under the client's trace id", async () => {
    const registered = await post(gatewayUrl, "mutation ($input: RegisterInput!) { register(input: $input) { token } }", {
      input: { email: `trace-${randomUUID()}@example.com`, password: "password123", name: "Traced" },
    });
    const token = (registered.data?.["register"] as { token: string }).token;

    // The client's own span: the gateway continues its trace.
    const traceId = randomBytes(16).toString("hex");
    const clientSpanId = randomBytes(8).toString("hex");
    const answer = await post(gatewayUrl, "{ me { id orders { totalCount } } }", undefined, {
      authorization: `Bearer ${token}`,
      traceparent: `00-${traceId}-${clientSpanId}-01`,
    });
    expect(answer.errors).toBeUndefined();
    expect(answer.data).toMatchObject({ me: { orders: { totalCount: 0 } } });

    const inTrace = (spans: ReceivedSpan[]) => spans.filter((s) => s.traceId === traceId);
    const sqlOf = (spans: ReceivedSpan[], service: string) =>
      inTrace(spans).filter((s) => s.service === service && typeof s.attributes["db.query.text"] === "string");
    // Each process exports in its own batches, and a server span ends (and is exported) after its SQL spans: wait
    // for all of them.
    const serverSpanOf = (all: ReceivedSpan[], service: string) =>
      inTrace(all).some((s) => s.service === service && s.kind === 2 && s.attributes["url.path"] === "/graphql");
    const spans = inTrace(
      await receiver.waitFor(
        (all) =>
          sqlOf(all, "users").length > 0 &&
          sqlOf(all, "orders").length > 0 &&
          serverSpanOf(all, "users") &&
          serverSpanOf(all, "orders") &&
          inTrace(all).some((s) => s.name === "gateway.request"),
      ),
    );
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const serviceOfParent = (s: ReceivedSpan) => byId.get(s.parentSpanId)?.service;

    // The gateway: its HTTP server span is the child of the client's span, Apollo's planning and fetch spans under it.
    const gatewayServer = spans.find((s) => s.service === "gateway" && s.kind === 2);
    expect(gatewayServer?.parentSpanId).toBe(clientSpanId);
    const gatewayNames = new Set(spans.filter((s) => s.service === "gateway").map((s) => s.name));
    for (const name of ["gateway.request", "gateway.plan", "gateway.execute", "gateway.fetch"]) expect(gatewayNames).toContain(name);

    // Each subgraph it called: a server span whose parent is a gateway span (the outgoing call carried traceparent).
    for (const service of ["users", "orders"]) {
      // (users may also serve the gateway's JWKS download, which happens inside the first authenticated request.)
      const server = spans.filter((s) => s.service === service && s.kind === 2 && s.attributes["url.path"] === "/graphql");
      expect(server, service).toHaveLength(1);
      expect(serviceOfParent(server[0]!), service).toBe("gateway");
      // Its SQL: Prisma's db_query spans, with the statement, inside that subgraph's part of the trace.
      const sql = sqlOf(spans, service);
      expect(sql.length, service).toBeGreaterThan(0);
      expect(sql.every((s) => s.kind === 3 && /\bSELECT\b/i.test(String(s.attributes["db.query.text"])))).toBe(true);
      for (const statement of sql) {
        let node: ReceivedSpan | undefined = statement;
        while (node && node.kind !== 2) node = byId.get(node.parentSpanId);
        expect(node?.spanId, `${service} SQL span under ${service}'s server span`).toBe(server[0]!.spanId);
      }
    }

    // Log lines written while handling it carry the trace id.
    const lines = users
      .output()
      .split("\n")
      .filter((l) => l.includes(`"trace_id":"${traceId}"`));
    expect(lines.length).toBeGreaterThan(0);
    expect(JSON.parse(lines[0]!)).toMatchObject({ service: "users", trace_id: traceId, span_id: expect.stringMatching(/^[0-9a-f]{16}$/) });
  });
});
