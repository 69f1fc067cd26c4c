/**
 * A small in-process OTLP/HTTP trace receiver for tests: processes export to it (OTEL_EXPORTER_OTLP_ENDPOINT =
 * its `url`, OTEL_EXPORTER_OTLP_PROTOCOL=http/json) and the test reads back every span. OTLP/JSON only: decoding
 * protobuf would need the OTLP .proto files, and the exporter's JSON encoding carries the same data.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

/** One received span, flattened with its resource's service name. */
export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, unknown>;
  /** Instrumentation scope (e.g. `@opentelemetry/instrumentation-http`, `@apollo/gateway`, `prisma`). */
  scope: string;
}

/** A running receiver. */
export interface OtlpReceiver extends AsyncDisposable {
  /** Base URL (`http://127.0.0.1:<port>`): exporters post to `<url>/v1/traces`. */
  url: string;
  /** Every span received so far. */
  spans(): ReceivedSpan[];
  /** Resolves with the spans once `predicate` holds for them; rejects after `timeoutMs`. */
  waitFor(predicate: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

type AnyValue = {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: AnyValue[] };
};
type KeyValue = { key: string; value?: AnyValue };

function valueOf(v: AnyValue | undefined): unknown {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(valueOf);
  return undefined;
}

const attributesOf = (list: KeyValue[] | undefined) => Object.fromEntries((list ?? []).map((kv) => [kv.key, valueOf(kv.value)]));

/** OTLP/JSON ids are hex; accept base64 too (protobuf-style JSON). */
function hexId(id: string | undefined): string {
  if (!id) return "";
  return /^[0-9a-f]+$/i.test(id) ? id.toLowerCase() : Buffer.from(id, "base64").toString("hex");
}

/** Parses one ExportTraceServiceRequest (JSON). */
export function parseOtlpTraces(body: unknown): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  const request = body as {
    resourceSpans?: Array<{
      resource?: { attributes?: KeyValue[] };
      scopeSpans?: Array<{
        scope?: { name?: string };
        spans?: Array<{ traceId?: string; spanId?: string; parentSpanId?: string; name?: string; kind?: number; attributes?: KeyValue[] }>;
      }>;
    }>;
  };
  for (const rs of request.resourceSpans ?? []) {
    const service = String(attributesOf(rs.resource?.attributes)["service.name"] ?? "");
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        out.push({
          service,
          traceId: hexId(span.traceId),
          spanId: hexId(span.spanId),
          parentSpanId: hexId(span.parentSpanId),
          name: span.name ?? "",
          kind: span.kind ?? 0,
          attributes: attributesOf(span.attributes),
          scope: ss.scope?.name ?? "",
        });
      }
    }
  }
  return out;
}

/** Starts a receiver on a free loopback port. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const received: ReceivedSpan[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/v1/traces") {
        res.statusCode = 404;
        res.end();
        return;
      }
      if (!String(req.headers["content-type"]).includes("json")) {
        res.statusCode = 415;
        res.end("this test receiver takes OTLP/JSON only: set OTEL_EXPORTER_OTLP_PROTOCOL=http/json");
        return;
      }
      try {
        received.push(...parseOtlpTraces(JSON.parse(Buffer.concat(chunks).toString("utf8"))));
        res.setHeader("content-type", "application/json");
        res.end("{}");
      } catch {
        res.statusCode = 400;
        res.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let closed: Promise<void> | undefined;
  const receiver: OtlpReceiver = {
    url,
    spans: () => [...received],
    async waitFor(predicate, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(received)) {
        if (Date.now() > deadline) throw new Error(`spans not received within ${timeoutMs} ms (got ${received.length})`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return [...received];
    },
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      })),
    [Symbol.asyncDispose]: () => receiver.close(),
  };
  return receiver;
}
