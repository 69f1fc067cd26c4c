/**
 * What the hostile-input suite sends and how it judges each answer: a case is data (a request and what answer it
 * deserves), `sendCase` sends it raw (any method, body bytes, headers), `problemsOf` lists what is wrong with the
 * answer whatever the case (a 5xx, an uncoded error, an internal detail), and the platform probes (memory of each
 * process, rows of the tables a refused write must not touch, the subgraph requests the fault proxies saw).
 */
import http from "node:http";
import { ErrorCode } from "@ecom/errors";
import { sql } from "@ecom/testing";
import type { SubgraphName } from "@ecom/config";
import type { Platform } from "../e2e/platform.ts";

/** One hostile request and the answer it deserves. */
export interface HostileCase {
  category: string;
  name: string;
  /** @default "POST" */
  method?: string;
  /** A JSON value (serialised), or raw text/bytes as they are. */
  json?: unknown;
  raw?: string | Buffer;
  /** @default { "content-type": "application/json" } for json, none for raw */
  headers?: Record<string, string>;
  /** Path and query after the gateway's origin. @default "/graphql" */
  path?: string;
  /** Sign the request in as this demo user. */
  as?: "alice" | "bob" | "admin";
  /**
   * What the answer must be: `data` (200, data, no error), or a refusal: one of these codes on the first error
   * (and, with `status`, one of these HTTP statuses).
   */
  expect: { data: true; check?: (body: AnswerBody) => void } | { codes: readonly string[]; status?: readonly number[]; orData?: true };
  /** Proven to be refused before any subgraph is called (the fault proxies' counters). */
  noSubgraphCall?: boolean;
}

export interface AnswerBody {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message?: unknown; extensions?: Record<string, unknown> }>;
}

export interface Answer {
  status: number;
  contentType: string;
  text: string;
  body: AnswerBody | undefined;
}

/** Codes an answer may carry: the API's and Apollo's (docs/API.md). */
export const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/**
 * Internals that must never reach a client outside development: stack frames, source and module paths, SQL,
 * ORM and driver text, internal addresses. Checked on the answer with the request's own strings removed (an error
 * may quote the value the client sent, e.g. "Int cannot represent non-integer value").
 */
export const INTERNALS: ReadonlyArray<[string, RegExp]> = [
  ["a stack frame", /\bat [\w.<>$]+ \(|\n\s+at |stacktrace/i],
  ["a source path", /[\w-]+\.(?:ts|js|mjs|cjs):\d+|node_modules|\/work\/|\/home\/|\/usr\/|file:\/\//],
  [
    "SQL",
    /\bSELECT\b[\s\S]*\bFROM\b|\bINSERT INTO\b|\bDELETE FROM\b|\bUPDATE\s+"?\w+"?\s+SET\b|relation "|syntax error at or near|violates .* constraint/,
  ],
  ["an ORM or driver", /prisma|PrismaClient|PrismaPg|\bpg-protocol\b|ECONNREFUSED|ECONNRESET/i],
  ["an internal host", /127\.0\.0\.1|localhost:\d+|\[::1\]|0\.0\.0\.0/],
  ["a stack overflow", /Maximum call stack|RangeError/],
];

/** The strings of a request, which the answer may legitimately quote. */
function requestStrings(c: HostileCase): string[] {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === "string") {
      if (v.length >= 3) out.push(v, JSON.stringify(v).slice(1, -1));
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") Object.values(v).forEach(walk);
  };
  walk(c.json);
  if (typeof c.raw === "string") out.push(c.raw);
  return out.sort((a, b) => b.length - a.length);
}

/** Everything wrong with `answer` whatever the case, then against the case's expectation. */
export function problemsOf(c: HostileCase, answer: Answer): string[] {
  const problems: string[] = [];
  if (answer.status >= 500) problems.push(`HTTP ${answer.status}`);
  let text = answer.text;
  for (const s of requestStrings(c)) text = text.split(s).join("");
  for (const [what, pattern] of INTERNALS) if (pattern.test(text)) problems.push(`${what} in the answer (${pattern.exec(text)?.[0]})`);
  const errors = answer.body?.errors ?? [];
  // 431 (header too large) is Node's own answer, with no body.
  const bodiless = answer.status === 431;
  if (!bodiless && !answer.body) problems.push(`not a JSON answer (${answer.contentType}): ${answer.text.slice(0, 120)}`);
  for (const error of errors) {
    const code = error.extensions?.["code"];
    if (typeof code !== "string" || !KNOWN_CODES.has(code))
      problems.push(`an error without a known code: ${JSON.stringify(error).slice(0, 200)}`);
    if (code === ErrorCode.INTERNAL_SERVER_ERROR) problems.push(`INTERNAL_SERVER_ERROR: ${JSON.stringify(error).slice(0, 200)}`);
  }
  if ("data" in c.expect) {
    if (answer.status !== 200 || errors.length > 0 || !answer.body?.data) {
      problems.push(`expected data, got HTTP ${answer.status} ${answer.text.slice(0, 300)}`);
    } else {
      try {
        c.expect.check?.(answer.body);
      } catch (error) {
        problems.push(`wrong data: ${(error as Error).message}`);
      }
    }
  } else if (c.expect.orData && answer.status === 200 && errors.length === 0 && answer.body?.data) {
    // A correct result is as good as a refusal here (e.g. a search for an odd string).
  } else {
    const code = errors[0]?.extensions?.["code"];
    const statusOk = !c.expect.status || c.expect.status.includes(answer.status);
    const codeOk = bodiless ? c.expect.codes.includes("HTTP_431") : typeof code === "string" && c.expect.codes.includes(code);
    if (!codeOk || !statusOk) {
      problems.push(
        `expected ${c.expect.codes.join("|")} ${c.expect.status?.join("|") ?? ""}, got HTTP ${answer.status} ${answer.text.slice(0, 300)}`,
      );
    }
    if (answer.status === 200 && errors.length === 0) problems.push("a refusal expected, got a success");
  }
  return problems;
}

/** Sends one case to the gateway with Node's http client (any method, any bytes, any header size). */
export function sendCase(origin: string, c: HostileCase, tokens: Readonly<Record<string, string>>): Promise<Answer> {
  const body = c.raw ?? (c.json === undefined ? undefined : JSON.stringify(c.json));
  const headers: Record<string, string> = {
    ...(c.json !== undefined ? { "content-type": "application/json" } : {}),
    ...(c.as ? { authorization: `Bearer ${tokens[c.as]}` } : {}),
    // Node sends DELETE bodies without chunked encoding: an explicit length keeps the request well-formed.
    ...(body === undefined ? {} : { "content-length": String(Buffer.byteLength(body)) }),
    ...c.headers,
  };
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(c.path ?? "/graphql", origin), { method: c.method ?? "POST", headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let parsed: AnswerBody | undefined;
        try {
          parsed = JSON.parse(text) as AnswerBody;
        } catch {
          parsed = undefined;
        }
        resolve({ status: res.statusCode ?? 0, contentType: String(res.headers["content-type"] ?? ""), text, body: parsed });
      });
      res.on("error", reject);
    });
    req.setTimeout(60_000, () => req.destroy(new Error(`${c.category}/${c.name}: no answer within 60 s`)));
    req.on("error", reject);
    req.end(body);
  });
}

/** Memory of one process as it reports it on `/metrics` (prom-client's process and heap metrics). */
export interface ProcessMemory {
  rssBytes: number;
  heapUsedBytes: number;
}

const metricValue = (text: string, name: string): number => {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text);
  if (!match) throw new Error(`${name} not found`);
  return Number(match[1]);
};

/** Reads `process_resident_memory_bytes` and `nodejs_heap_size_used_bytes` from `origin/metrics`. */
export async function memoryOf(origin: string): Promise<ProcessMemory> {
  const res = await fetch(new URL("/metrics", origin), { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  return { rssBytes: metricValue(text, "process_resident_memory_bytes"), heapUsedBytes: metricValue(text, "nodejs_heap_size_used_bytes") };
}

/** Every process of the platform by name (gateway, subgraphs, workers) with the origin of its `/metrics`. */
export function processesOf(platform: Platform): Array<{ name: string; origin: string; alive: () => boolean }> {
  const alive = (p: { child: { exitCode: number | null; signalCode: NodeJS.Signals | null } } | undefined) => () =>
    p !== undefined && p.child.exitCode === null && p.child.signalCode === null;
  return [
    { name: "gateway", origin: platform.gatewayOrigin, alive: alive(platform.gateway) },
    ...Object.values(platform.subgraphs).map((s) => ({ name: s.name, origin: s.origin, alive: alive(s.process) })),
    ...Object.values(platform.workers).map((w) => ({ name: `${w!.name} worker`, origin: w!.origin, alive: alive(w!.process) })),
  ];
}

/** Tables (and stock levels) a refused write must leave as they were. */
const GUARDED: ReadonlyArray<[SubgraphName, string]> = [
  ["users", 'SELECT count(*)::int AS n FROM "users"'],
  ["products", 'SELECT count(*)::int AS n FROM "products"'],
  ["products", 'SELECT count(*)::int AS n FROM "categories"'],
  ["products", 'SELECT coalesce(sum(price_amount), 0)::bigint::text AS n FROM "products"'],
  ["orders", 'SELECT count(*)::int AS n FROM "orders"'],
  ["orders", 'SELECT count(*)::int AS n FROM "order_items"'],
  ["payments", 'SELECT count(*)::int AS n FROM "payments"'],
  ["inventory", 'SELECT count(*)::int AS n FROM "stock_items"'],
  ["inventory", 'SELECT coalesce(sum(on_hand), 0)::bigint::text AS n FROM "stock_items"'],
];

/** The guarded counts, e.g. `{ "users: SELECT count(*)...": 3 }`. */
export async function guardedRows(platform: Platform): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [service, query] of GUARDED) {
    const [row] = await sql<{ n: number | string }>(platform.subgraphs[service].db.url, query);
    out[`${service}: ${query}`] = String(row?.n);
  }
  return out;
}
