import { devMasterKeyring } from "@ecom/auth";
import { createSigning } from "../src/fetch/sign.ts";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createLogger, createMetrics } from "@ecom/observability";
import { dedupKey } from "../src/fetch/dedup.ts";
import { SubgraphCallPath } from "../src/fetch/pipeline.ts";
import { judgeError, judgeResponse, parseRetryAfter } from "../src/fetch/resilience.ts";
import http from "node:http";
import { BufferedResponse, createUndiciTransport } from "../src/fetch/transport.ts";
import {
  ACCOUNTS_SDL,
  CATALOG_SDL,
  composeFixture,
  gql,
  startAccounts,
  startCatalog,
  startGateway,
  type FixtureSubgraph,
} from "./helpers.ts";

const response = (status: number, headers: Record<string, string> = {}) => new BufferedResponse("http://x/graphql", status, headers, "{}");

describe("what an answer means to the call path", () => {
  it("reads Retry-After as seconds or as an HTTP date", () => {
    expect(parseRetryAfter("3")).toBe(3000);
    expect(parseRetryAfter(new Date(Date.UTC(2030, 0, 1, 0, 0, 10)).toUTCString(), Date.UTC(2030, 0, 1))).toBe(10_000);
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });

  it("counts 5xx and 429 as failures, retries only those another attempt may fix, and never GraphQL answers", () => {
    expect(judgeResponse(response(200))).toEqual({ ok: true });
    expect(judgeResponse(response(400))).toEqual({ ok: true });
    expect(judgeResponse(response(503, { "retry-after": "2" }))).toEqual({
      ok: false,
      reason: "HTTP 503",
      retryable: true,
      retryAfterMs: 2000,
    });
    expect(judgeResponse(response(429))).toMatchObject({ ok: false, retryable: true });
    expect(judgeResponse(response(500))).toEqual({ ok: false, reason: "HTTP 500", retryable: false });
    expect(judgeError(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }))).toEqual({
      ok: false,
      reason: "ECONNREFUSED",
      retryable: true,
    });
    expect(judgeError(Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }))).toMatchObject({
      reason: "UND_ERR_SOCKET",
    });
    // A bug of an inner stage says nothing about the subgraph.
    expect(judgeError(new TypeError("x is not a function"))).toMatchObject({ ok: false, retryable: false, counts: false });
  });

  it("keys dedup on the caller's headers and the body, not on per-request ids", () => {
    const init = (user: string, requestId: string) => ({
      headers: {
        "content-type": "application/json",
        "x-user-id": user,
        "x-request-id": requestId,
        "x-correlation-id": requestId,
      },
      body: '{"query":"{ me { id } }"}',
    });
    expect(dedupKey("http://a/graphql", init("u1", "r1"))).toBe(dedupKey("http://a/graphql", init("u1", "r2")));
    expect(dedupKey("http://a/graphql", init("u1", "r1"))).not.toBe(dedupKey("http://a/graphql", init("u2", "r1")));
    expect(dedupKey("http://a/graphql", init("u1", "r1"))).not.toBe(dedupKey("http://b/graphql", init("u1", "r1")));
  });
});

describe("the undici transport", () => {
  let server: http.Server;
  let base: string;
  const hold = new Set<http.ServerResponse>();
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        if (req.url === "/hang") return void hold.add(res);
        res.setHeader("content-type", "application/json");
        res.setHeader("x-echo-user", String(req.headers["x-user-id"]));
        res.setHeader("set-cookie", ["a=1", "b=2"]);
        res.statusCode = req.url === "/unavailable" ? 503 : 200;
        if (req.url === "/bom") return void res.end(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"bom":true}')]));
        // Several chunks, with a multi-byte character split across two of them.
        const text = JSON.stringify({ echo: body, text: "é".repeat(5000) });
        const bytes = Buffer.from(text);
        res.write(bytes.subarray(0, 4001));
        setTimeout(() => res.end(bytes.subarray(4001)), 5);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    for (const res of hold) res.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it("reads a whole answer: status, headers and a body in several chunks, readable more than once", async () => {
    const transport = createUndiciTransport();
    try {
      const response = await transport.fetch(`${base}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-user-id": "u1" },
        body: '{"query":"{ me { id } }"}',
      });
      expect(response.status).toBe(200);
      expect(response.headers.get("X-Echo-User")).toBe("u1");
      expect(response.headers.get("set-cookie")).toBe("a=1, b=2");
      const parsed = (await response.json()) as { echo: string; text: string };
      expect(parsed).toEqual({ echo: '{"query":"{ me { id } }"}', text: "é".repeat(5000) });
      expect(await response.clone().text()).toBe(await response.text());
      expect((await transport.fetch(`${base}/unavailable`, { method: "POST", body: "{}" })).status).toBe(503);
      expect(await (await transport.fetch(`${base}/bom`, { method: "POST", body: "{}" })).json()).toEqual({ bom: true });
    } finally {
      await transport.close();
    }
  });

  it("is cancelled by its signal, before the call is sent and while it waits for the answer", async () => {
    const transport = createUndiciTransport();
    try {
      const gone = new Error("client disconnected");
      await expect(transport.fetch(`${base}/graphql`, { method: "POST", body: "{}", signal: AbortSignal.abort(gone) })).rejects.toBe(gone);
      const controller = new AbortController();
      const pending = transport.fetch(`${base}/hang`, { method: "POST", body: "{}", signal: controller.signal });
      await vi.waitFor(() => expect(hold.size).toBe(1));
      controller.abort(gone);
      await expect(pending).rejects.toBe(gone);
      // The pool is still usable afterwards.
      expect((await transport.fetch(`${base}/graphql`, { method: "POST", body: "{}" })).status).toBe(200);
    } finally {
      await transport.close();
    }
  });
});

describe("a call path shared by two gateway instances (a supergraph reload)", { timeout: 30_000 }, () => {
  let accounts: FixtureSubgraph;
  let catalog: FixtureSubgraph;
  beforeAll(async () => {
    [accounts, catalog] = await Promise.all([startAccounts(), startCatalog()]);
  });
  afterAll(async () => {
    await Promise.all([accounts.stop(), catalog.stop()]);
  });

  it("keeps a subgraph's open breaker: the new gateway fails its fields fast from the first request", async () => {
    const metrics = createMetrics({ service: "gateway", defaultMetrics: false });
    const callPath = new SubgraphCallPath({
      config: { defaults: { breaker: { consecutiveFailures: 2, openMs: 60_000 }, retry: { maxAttempts: 1 } } },
      logger: createLogger({ service: "test", level: "silent" }),
      registry: metrics.registry,
      // A call path given to the gateway brings its own signing (subgraphs refuse unsigned calls).
      signing: createSigning({ masterKeys: devMasterKeyring() }),
    });
    const supergraph = composeFixture({ accounts: ACCOUNTS_SDL, catalog: CATALOG_SDL });
    const urls = { accounts: accounts.url, catalog: "http://127.0.0.1:9/graphql" };
    const first = await startGateway(supergraph, urls, { callPath, metrics });
    try {
      for (let i = 0; i < 2; i++) await gql(first.url, "{ products { id } }");
      expect(callPath.breakerState("catalog")).toBe("OPEN");
    } finally {
      await first.stop();
    }
    const second = await startGateway(supergraph, { ...urls, catalog: catalog.url }, { callPath, metrics });
    try {
      catalog.received.length = 0;
      const { body } = await gql(second.url, "{ products { id } seen { secretOk } }");
      expect(body.data).toEqual({ products: null, seen: { secretOk: true } });
      expect(body.errors?.[0]?.extensions).toMatchObject({ code: "SUBGRAPH_UNAVAILABLE", reason: "circuit open", breakerState: "OPEN" });
      expect(catalog.received).toHaveLength(0);
      // And the policies take new settings live: a breaker switched off lets the call through again.
      callPath.policies.update({ defaults: { breaker: { enabled: false } } });
      expect((await gql(second.url, "{ products { id } }")).body).toEqual({ data: { products: [{ id: "p1" }] } });
    } finally {
      await second.stop();
      await callPath.close();
    }
  });
});
