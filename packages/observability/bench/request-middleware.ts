/**
 * Micro-benchmark of createRequestMiddleware: this tree's against the one at a git ref (default: main), on real
 * IncomingMessage/ServerResponse objects (no socket traffic). Each "request" runs the middleware, adds the
 * listeners express and a body parser add (request data/end, response finish/close), then emits the eight events
 * node emits for a small POST (resume, data, readable, end, prefinish, finish, close, close) from outside the
 * request's context, as the socket does; the response's close records the histogram observation. Interleaved
 * rounds, medians of µs per request; prints a table and the load average. Not a test: nothing is asserted.
 * The duration observation alone is timed too, as the ref makes it (startTimer with object labels) and as this
 * tree does (a cached child per label set), since under load its difference is below the whole request's noise.
 *
 *   npx tsx packages/observability/bench/request-middleware.ts [--ref main] [--rounds 9] [--requests 50000]
 */
import { execFileSync } from "node:child_process";
import { unlinkSync, writeFileSync } from "node:fs";
import { IncomingMessage, ServerResponse } from "node:http";
import { Socket } from "node:net";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createMetrics, currentRequestContext } from "../src/index.ts";
import { interleavedRounds, loadLine, median } from "../../../scripts/bench/micro.ts";
import { createRequestMiddleware } from "../src/http.ts";

const { values } = parseArgs({
  options: {
    ref: { type: "string", default: "main" },
    rounds: { type: "string", default: "9" },
    requests: { type: "string", default: "50000" },
  },
});
const rounds = Number(values.rounds);
const requests = Number(values.requests);

// The reference version is written beside this tree's http.ts, so its relative imports resolve to the same
// context and metrics modules; removed right after import.
const refFile = fileURLToPath(new URL(`../src/http.bench-ref-${process.pid}.ts`, import.meta.url));
writeFileSync(refFile, execFileSync("git", ["show", `${values.ref}:packages/observability/src/http.ts`]));
let refMiddleware: typeof createRequestMiddleware;
try {
  refMiddleware = ((await import(refFile)) as { createRequestMiddleware: typeof createRequestMiddleware }).createRequestMiddleware;
} finally {
  unlinkSync(refFile);
}

let seen = 0; // listeners count the requests whose context they saw, so a broken binding shows in the table
function runOne(middleware: ReturnType<typeof createRequestMiddleware>, socket: Socket): void {
  const req = new IncomingMessage(socket);
  req.method = "POST";
  req.url = "/graphql";
  req.headers = { "content-type": "application/json" };
  const res = new ServerResponse(req);
  const check = () => void (currentRequestContext() && seen++);
  middleware(req, res, () => {
    req.on("data", check);
    req.on("end", check);
    res.on("finish", check);
    res.once("close", check);
  });
  req.emit("resume");
  req.emit("data", Buffer.from("{}"));
  req.emit("readable");
  req.emit("end");
  res.emit("prefinish");
  res.emit("finish");
  res.emit("close");
  req.emit("close");
}

const metricsRef = createMetrics({ service: "bench", defaultMetrics: false });
const metricsNow = createMetrics({ service: "bench", defaultMetrics: false });
const children = new Map([["POST /graphql 200", metricsNow.httpRequestDuration.labels("POST", "/graphql", "200")]]);
const socket = new Socket();
// The middleware cases count the listeners that saw the context (4 of 4 when the binding works).
const cases: Record<string, () => void> = {
  [`middleware (${values.ref})`]: (
    (mw) => () =>
      runOne(mw, socket)
  )(refMiddleware({ metrics: metricsRef })),
  "middleware (this tree)": (
    (mw) => () =>
      runOne(mw, socket)
  )(createRequestMiddleware({ metrics: metricsNow })),
  // The duration observation alone, as the ref and this tree make it.
  "observation: startTimer + object labels (before)": () =>
    void metricsRef.httpRequestDuration.startTimer({ method: "POST", route: "/graphql" })({ status_code: "200" }),
  "observation: cached child (now)": () => {
    const start = process.hrtime.bigint();
    children.get("POST /graphql 200")!.observe(Number(process.hrtime.bigint() - start) / 1e9);
  },
};

const seenBy = new Map<string, number>();
const load = loadavg()[0]!;
const samples = interleavedRounds(cases, {
  rounds,
  calls: requests,
  before: () => (seen = 0),
  after: (name) => seenBy.set(name, seen / requests),
});
socket.destroy();

console.log(`${rounds} interleaved rounds of ${requests} calls each, ${loadLine(load)}\n`);
console.log("| case | µs per call (median) | min-max | listeners that saw the context |");
console.log("| --- | ---: | ---: | ---: |");
for (const [name, ns] of samples) {
  const xs = ns.map((n) => n / 1000);
  const ctx = name.startsWith("middleware") ? `${seenBy.get(name)} of 4` : "";
  console.log(`| ${name} | ${median(xs).toFixed(2)} | ${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)} | ${ctx} |`);
}
