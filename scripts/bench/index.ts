/**
 * `npm run bench`: this gateway against stock @apollo/gateway and Hive Gateway, side by side in one run, over the
 * same seven subgraphs (real processes, real Postgres, the demo data) and the same nested queries.
 *
 *   (a) ours, every plugin on (the boot file gateway/src/index.ts; whole-response cache off)
 *   (b) ours, optional plugins off              (c) stock @apollo/gateway, default settings
 *   (d) Hive Gateway, default settings          (e) ours, in-flight dedup off
 *   (f) ours without its V8 settings (not in the default set: `--targets a,f` measures what they are worth)
 *   (g) (a) as another commit of the repository has it (`--ref <commit>` or `--ref-root <dir>`, not in the default
 *       set): a change measured against the code before it, interleaved in one run
 *
 * Each gateway is its own process; autocannon drives them from this one, on loopback. Rounds are interleaved (the
 * order rotates each round) and medians are taken, because the machine is shared and noisy. Every answer under
 * load is compared with the reference answer. Prints the table and the ratios the issue sets targets for, and
 * writes JSON, Markdown and an SVG chart to scripts/bench/results/ (or --out).
 *
 *   npm run bench                         10 rounds of 4 s per gateway and query, 32 connections (many short,
 *                                         interleaved runs: a burst of load from elsewhere hits every gateway alike)
 *   npm run bench -- --quick              one short round (a smoke check)
 *   npm run bench -- --targets a,c --rounds 5 --duration 20 --connections 64
 *   npm run bench -- --profile            also writes a CPU profile of each gateway (node --cpu-prof) and its top functions
 *   npm run bench -- --targets a,f --node-options-a=--max-semi-space-size=64   (a) with other V8 flags, vs none
 *   npm run bench -- --targets a,g --ref HEAD~1      (a) against the (a) of the commit before (its files from
 *                                         `git archive`, this checkout's node_modules); --ref-root <dir>: a checkout
 */
import { generateKeyPairSync } from "node:crypto";
import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { formatKeyring, generateMasterKey, pairKeyringFromMaster, parseKeyring, serviceKeyring, type Keyring } from "@ecom/auth";
import { SUBGRAPH_NAMES, subgraphUrlVariable, type SubgraphName } from "@ecom/config";
import { DEFAULT_RATE_LIMIT_RULES } from "@ecom/ratelimit";
import { GATEWAY_NODE_OPTIONS } from "../topology.ts";
import { summarizeProfile, type ProfileWindow } from "./profile.ts";
import { measure, type RunResult } from "./load.ts";
import { startBenchProcess, readyUrl, waitUntilOk, type BenchProcess } from "./processes.ts";
import { createBenchSigner } from "./targets/signing.ts";
import {
  markdownTable,
  ratioChecks,
  summarize,
  svgChart,
  textTable,
  TARGETS,
  type BenchReport,
  type Sample,
  type TargetId,
} from "./report.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const TSX = path.join(ROOT, "node_modules", "tsx", "dist", "cli.mjs");
const HIVE = path.join(ROOT, "node_modules", "@graphql-hive", "gateway", "dist", "bin.js");
/** The V8 settings this gateway ships with (scripts/topology.ts, gateway/package.json, Dockerfile). */
const OURS_NODE_OPTIONS = GATEWAY_NODE_OPTIONS;

/** The nested queries: each crosses several subgraphs in sequence. */
export const QUERIES: Record<string, { text: string; auth: boolean }> = {
  // search -> products (name, price, category) -> inventory (stock): three subgraphs in sequence.
  catalog: {
    text: 'query Catalog { search(query: "wireless", first: 20) { edges { node { id name price { amount currency } category { name } stock inStock } } } }',
    auth: false,
  },
  // users (me) -> orders -> products (item products) + users (buyer) -> inventory (stock): four subgraphs, five fetches.
  orders: {
    text: "query MyOrders { me { name orders(first: 10) { edges { node { status total { amount } items { quantity product { name stock } } buyer { name email } } } } } }",
    auth: true,
  },
};

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    duration: { type: "string" },
    warmup: { type: "string" },
    connections: { type: "string" },
    targets: { type: "string" },
    queries: { type: "string" },
    out: { type: "string" },
    profile: { type: "boolean", default: false },
    "node-options-a": { type: "string" },
    // Another checkout of the repository (with its node_modules): target (g) runs its gateway as (a) runs ours.
    "ref-root": { type: "string" },
    // Or a commit: its files are extracted to a scratch directory that uses this checkout's node_modules.
    ref: { type: "string" },
    // Use subgraphs that already run (a test's platform) instead of starting them: {"users":"http://...", ...}.
    subgraphs: { type: "string" },
    // Master signing keys of subgraphs that already run (--subgraphs); by default the bench makes its own.
    "signing-keys": { type: "string" },
  },
});

const quick = args.quick ?? false;
const rounds = Number(args.rounds ?? (quick ? 1 : 10));
const durationSeconds = Number(args.duration ?? (quick ? 2 : 4));
const warmupSeconds = Number(args.warmup ?? (quick ? 1 : 3));
const connections = Number(args.connections ?? (quick ? 8 : 32));
const targetIds = (args.targets ?? "a,b,c,d,e").split(",").map((t) => t.trim()) as TargetId[];
const queryIds = (args.queries ?? Object.keys(QUERIES).join(",")).split(",").map((q) => q.trim());
const outDir = path.resolve(args.out ?? path.join(ROOT, "scripts", "bench", "results"));
// Subgraphs answer signed calls only: every gateway under test signs with these (production mode refuses the
// development keys, so the bench makes a master of its own unless given the running subgraphs' one).
const masterKeys: Keyring = args["signing-keys"] ? parseKeyring(args["signing-keys"]) : [generateMasterKey("bench")];
const SIGNING_KEYS = formatKeyring(masterKeys);
for (const t of targetIds) if (!(t in TARGETS)) fail(`unknown target "${t}": use ${Object.keys(TARGETS).join(", ")}`);
if (args.ref !== undefined && !/^[\w./~^-]{1,100}$/.test(args.ref)) fail(`--ref must name a commit (got "${args.ref}")`);
if (
  targetIds.includes("g") &&
  args.ref === undefined &&
  !existsSync(path.join(path.resolve(args["ref-root"] ?? "/nonexistent"), "gateway", "src", "index.ts"))
)
  fail("target g needs --ref <commit> or --ref-root <a checkout of this repository, with node_modules>");
// Where target (g) runs: --ref-root, or the files of --ref extracted when the run starts (removed when it ends).
let refCheckout: string | undefined;
let refRoot = args["ref-root"] ? path.resolve(args["ref-root"]) : undefined;

/**
 * The files of `commit` in `dir`, with this checkout's packages: every entry of each node_modules linked, except
 * the workspace links (node_modules/@ecom -> ../../packages/x), copied as they are so that they resolve to the
 * extracted packages, not to ours.
 */
function extractCommit(commit: string, dir: string): void {
  const refuse = (message: string): never => {
    rmSync(dir, { recursive: true, force: true });
    return fail(message);
  };
  const archive = spawnSync("git", ["archive", "--format=tar", commit], { cwd: ROOT, maxBuffer: 1 << 30 });
  if (archive.status !== 0) refuse(`git archive ${commit} failed: ${archive.stderr.toString().trim()}`);
  const tar = spawnSync("tar", ["-x", "-C", dir], { input: archive.stdout });
  if (tar.status !== 0) refuse(`could not extract ${commit}: ${tar.stderr.toString().trim()}`);
  const modules = [
    ROOT,
    path.join(ROOT, "gateway"),
    ...["packages", "subgraphs"].flatMap((d) => readdirSync(path.join(ROOT, d)).map((n) => path.join(ROOT, d, n))),
  ]
    .map((d) => path.join(d, "node_modules"))
    .filter((d) => existsSync(d));
  for (const from of modules) {
    const to = path.join(dir, path.relative(ROOT, from));
    mkdirSync(to, { recursive: true });
    for (const entry of readdirSync(from)) {
      if (existsSync(path.join(to, entry))) continue;
      if (entry === "@ecom") cpSync(path.join(from, entry), path.join(to, entry), { recursive: true, verbatimSymlinks: true });
      else symlinkSync(path.join(from, entry), path.join(to, entry));
    }
  }
}
for (const q of queryIds) if (!(q in QUERIES)) fail(`unknown query "${q}": use ${Object.keys(QUERIES).join(", ")}`);
for (const [name, n] of Object.entries({ rounds, durationSeconds, warmupSeconds, connections }))
  if (!Number.isFinite(n) || n <= 0) fail(`--${name} must be a positive number`);

function fail(message: string): never {
  process.stderr.write(`npm run bench: ${message}\n`);
  process.exit(1);
}

const step = (message: string) => process.stdout.write(`==> ${message}\n`);
const processes: BenchProcess[] = [];
let scratch: string | undefined;

async function stopAll(): Promise<void> {
  await Promise.allSettled(processes.map((p) => p.stop()));
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  if (refCheckout) rmSync(refCheckout, { recursive: true, force: true });
}
process.on("SIGINT", () => void stopAll().then(() => process.exit(130)));
process.on("SIGTERM", () => void stopAll().then(() => process.exit(143)));

/** Starts the seven subgraphs over the bench databases (bootstrapped and seeded like `npm start` does). */
async function startSubgraphs(): Promise<Record<SubgraphName, string>> {
  // The bench's own databases, so a run never touches the development data (and the seed is idempotent).
  process.env["DATABASE_PREFIX"] ??= "ecom_bench";
  const { bootstrap } = await import("../../prisma/bootstrap.ts");
  const { seedAll } = await import("../../prisma/seed.ts");
  const { loadToolEnv } = await import("../../prisma/env.ts");
  step(`bootstrapping and seeding the bench databases (prefix ${process.env["DATABASE_PREFIX"]})`);
  await bootstrap((line) => process.stdout.write(`    ${line}\n`));
  await seedAll((line) => process.stdout.write(`    ${line}\n`));
  const toolEnv = loadToolEnv();
  step(`starting ${SUBGRAPH_NAMES.length} subgraphs`);
  const urls = {} as Record<SubgraphName, string>;
  // orders calls products when placing orders (not during the bench, but its env requires the URL): products first.
  const start = async (name: SubgraphName, extra: Record<string, string> = {}) => {
    const proc = startBenchProcess(name, process.execPath, [TSX, "src/index.ts"], {
      cwd: path.join(ROOT, "subgraphs", name),
      env: {
        ...process.env,
        NODE_ENV: "production",
        LOG_LEVEL: "info",
        HOST: "127.0.0.1",
        PORT: "0",
        SIGNING_KEYS: formatKeyring(serviceKeyring(masterKeys, name)),
        DATABASE_URL: toolEnv.databaseUrlFor(name),
        ...extra,
      },
    });
    processes.push(proc);
    urls[name] = await readyUrl(proc, `${name} subgraph ready`);
    await waitUntilOk(proc, new URL("/health/ready", urls[name]).href);
    process.stdout.write(`    ${name} ready at ${urls[name]}\n`);
  };
  // Production mode, as deployed: the users subgraph then needs a signing key of its own.
  const jwtKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const extraEnv = (name: SubgraphName): Record<string, string> =>
    name === "orders"
      ? { PRODUCTS_URL: urls.products, PRODUCTS_SIGNING_KEYS: formatKeyring(pairKeyringFromMaster(masterKeys, "orders", "products")) }
      : name === "users"
        ? { JWT_PRIVATE_KEY: jwtKey }
        : {};
  await start("products");
  await Promise.all(SUBGRAPH_NAMES.filter((n) => n !== "products").map((n) => start(n, extraEnv(n))));
  return urls;
}

/** The checked-in supergraph with each subgraph's URL replaced by where it runs now. */
function benchSupergraph(urls: Record<string, string>): string {
  let sdl = readFileSync(path.join(ROOT, "gateway", "supergraph.graphql"), "utf8");
  for (const [name, url] of Object.entries(urls)) {
    sdl = sdl.replace(new RegExp(`(@join__graph\\(name: "${name}", url: ")[^"]*(")`), `$1${url}$2`);
  }
  return sdl;
}

/** A JWT for alice from the users subgraph (ours verifies it; the others get identity headers). */
async function aliceToken(usersUrl: string): Promise<{ token: string; userId: string }> {
  const payload = JSON.stringify({
    query: "mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { token user { id } } }",
    variables: { email: "alice@example.com", password: "password123" },
  });
  const headers = { "content-type": "application/json" };
  // Straight to the users subgraph: signed as the gateway would sign it.
  const signature = createBenchSigner(masterKeys)("users", usersUrl, payload, headers);
  const res = await fetch(usersUrl, { method: "POST", headers: { ...headers, ...signature }, body: payload });
  const body = (await res.json()) as { data?: { login?: { token: string; user: { id: string } } }; errors?: unknown };
  if (!body.data?.login) throw new Error(`could not sign alice in at ${usersUrl}: ${JSON.stringify(body)}`);
  return { token: body.data.login.token, userId: body.data.login.user.id };
}

interface RunningTarget {
  id: TargetId;
  url: string;
  proc: BenchProcess;
  headers: (auth: boolean) => Record<string, string>;
}

async function freePort(): Promise<number> {
  const net = await import("node:net");
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function startTarget(
  id: TargetId,
  supergraphPath: string,
  urls: Record<SubgraphName, string>,
  alice: { token: string; userId: string },
): Promise<RunningTarget> {
  const bearer = (auth: boolean): Record<string, string> => (auth ? { authorization: `Bearer ${alice.token}` } : {});
  const identity = (auth: boolean): Record<string, string> => (auth ? { "x-user-id": alice.userId, "x-user-role": "CUSTOMER" } : {});
  const gatewayEnv: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: "production",
    LOG_LEVEL: "info",
    HOST: "127.0.0.1",
    PORT: "0",
    SIGNING_KEYS,
    JWKS_URL: new URL("/.well-known/jwks.json", urls.users).href,
    SUPERGRAPH_PATH: supergraphPath,
    RESPONSE_CACHE: "false",
    // Rate limiting stays on (its Redis decision per request is part of "plugins on"), with a per-address bucket the
    // load generator (one address) cannot empty; the login/register rules are the defaults.
    RATE_LIMIT_RULES: JSON.stringify(
      DEFAULT_RATE_LIMIT_RULES.map((rule) =>
        rule.id === "ip" ? { ...rule, limit: 10_000_000, refill: { tokens: 10_000_000, every: 1000 } } : rule,
      ),
    ),
    RATE_LIMIT_PREFIX: `ecom:bench:${process.pid}:ratelimit:`,
    ...Object.fromEntries(SUBGRAPH_NAMES.map((n) => [subgraphUrlVariable(n), urls[n]])),
  };
  const profile = args.profile ? ["--cpu-prof", `--cpu-prof-dir=${path.join(outDir, "profiles", id)}`] : [];
  const oursArgs = (nodeOptions: string) => [...nodeOptions.split(" ").filter(Boolean), ...profile];
  let proc: BenchProcess;
  switch (id) {
    case "a":
    case "e":
    case "f":
    case "g": {
      const nodeArgs = oursArgs(id === "a" ? (args["node-options-a"] ?? OURS_NODE_OPTIONS) : id === "f" ? "" : OURS_NODE_OPTIONS);
      proc = startBenchProcess(TARGETS[id], process.execPath, [...nodeArgs, "--import", "tsx", "gateway/src/index.ts"], {
        cwd: id === "g" ? refRoot! : ROOT,
        env: { ...gatewayEnv, ...(id === "e" ? { RESILIENCE_CONFIG: JSON.stringify({ dedup: { enabled: false } }) } : {}) },
      });
      break;
    }
    case "b":
      proc = startBenchProcess(
        TARGETS[id],
        process.execPath,
        [...oursArgs(OURS_NODE_OPTIONS), "--import", "tsx", "scripts/bench/targets/ours-minimal.ts"],
        { cwd: ROOT, env: gatewayEnv },
      );
      break;
    case "c":
      proc = startBenchProcess(TARGETS[id], process.execPath, [...profile, "--import", "tsx", "scripts/bench/targets/stock.ts"], {
        cwd: ROOT,
        env: {
          ...process.env,
          NODE_ENV: "production",
          HOST: "127.0.0.1",
          PORT: "0",
          SUPERGRAPH_PATH: supergraphPath,
          SIGNING_KEYS,
          APOLLO_TELEMETRY_DISABLED: "true",
        },
      });
      break;
    case "d": {
      const port = await freePort();
      proc = startBenchProcess(
        TARGETS[id],
        process.execPath,
        [
          HIVE,
          "supergraph",
          supergraphPath,
          "--port",
          String(port),
          "--host",
          "127.0.0.1",
          "--fork",
          "1",
          "--config-path",
          "scripts/bench/targets/hive.config.ts",
        ],
        { cwd: ROOT, env: { ...process.env, NODE_ENV: "production", SUPERGRAPH_PATH: supergraphPath, SIGNING_KEYS } },
      );
      processes.push(proc);
      await waitUntilOk(proc, `http://127.0.0.1:${port}/healthcheck`);
      return { id, url: `http://127.0.0.1:${port}/graphql`, proc, headers: identity };
    }
    default: {
      const never: never = id;
      throw new Error(`unknown target ${String(never)}`);
    }
  }
  processes.push(proc);
  const url = await readyUrl(proc, "gateway ready");
  return { id, url, proc, headers: id === "c" ? identity : bearer };
}

/** Total POSTs to /graphql the subgraphs have answered (their http_request_duration_seconds_count). */
function subgraphRequestCounter(urls: Record<SubgraphName, string>): () => Promise<number> {
  return async () => {
    let total = 0;
    await Promise.all(
      SUBGRAPH_NAMES.map(async (name) => {
        const text = await (await fetch(new URL("/metrics", urls[name]))).text();
        for (const line of text.split("\n")) {
          if (
            line.startsWith("http_request_duration_seconds_count{") &&
            line.includes('route="/graphql"') &&
            line.includes('method="POST"')
          ) {
            total += Number(line.slice(line.lastIndexOf(" ") + 1));
          }
        }
      }),
    );
    return total;
  };
}

async function answer(target: RunningTarget, query: string): Promise<string> {
  const res = await fetch(target.url, {
    method: "POST",
    headers: { "content-type": "application/json", ...target.headers(QUERIES[query]!.auth) },
    body: JSON.stringify({ query: QUERIES[query]!.text }),
  });
  return res.text();
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const loadAverageAtStart = os.loadavg();
  step(
    `bench: targets ${targetIds.join(", ")}; queries ${queryIds.join(", ")}; ${rounds} round(s) of ${durationSeconds} s, ${connections} connections`,
  );
  if (loadAverageAtStart[0]! > os.cpus().length) {
    process.stdout.write(
      `    note: load average ${loadAverageAtStart[0]!.toFixed(1)} on ${os.cpus().length} CPUs: other work competes, expect noise\n`,
    );
  }
  if (args.ref !== undefined) {
    refCheckout = mkdtempSync(path.join(os.tmpdir(), "ecom-bench-ref-"));
    step(`extracting ${args.ref} for target (g) to ${refCheckout}`);
    extractCommit(args.ref, refCheckout);
    refRoot = refCheckout;
  }
  const urls = args.subgraphs ? (JSON.parse(args.subgraphs) as Record<SubgraphName, string>) : await startSubgraphs();
  scratch = mkdtempSync(path.join(os.tmpdir(), "ecom-bench-"));
  const supergraphPath = path.join(scratch, "supergraph.graphql");
  writeFileSync(supergraphPath, benchSupergraph(urls));
  const alice = await aliceToken(urls.users);

  step("starting the gateways");
  const targets: RunningTarget[] = [];
  for (const id of targetIds) {
    targets.push(await startTarget(id, supergraphPath, urls, alice));
    process.stdout.write(`    ${TARGETS[id]} at ${targets.at(-1)!.url}\n`);
  }

  // The reference answers: (a)'s if measured, else the first target's; every gateway must give the same data.
  step("checking that every gateway gives the same, complete answers");
  const expected: Record<string, Record<string, string>> = {};
  for (const query of queryIds) {
    const reference = JSON.parse(await answer(targets[0]!, query)) as { data?: unknown; errors?: unknown };
    if (reference.errors || !reference.data)
      throw new Error(`${TARGETS[targets[0]!.id]} answered ${query} with ${JSON.stringify(reference).slice(0, 500)}`);
    if (!JSON.stringify(reference.data).includes('"edges":[{'))
      throw new Error(`${query}: the reference answer is empty: ${JSON.stringify(reference).slice(0, 500)}`);
    expected[query] = {};
    for (const target of targets) {
      const text = await answer(target, query);
      const parsed = JSON.parse(text) as { data?: unknown; errors?: unknown };
      if (JSON.stringify(parsed) !== JSON.stringify(reference)) {
        throw new Error(
          `${TARGETS[target.id]} answers ${query} differently:\n${text.slice(0, 500)}\nexpected:\n${JSON.stringify(reference).slice(0, 500)}`,
        );
      }
      expected[query]![target.id] = text;
    }
  }

  const subgraphRequests = subgraphRequestCounter(urls);
  const runOne = (target: RunningTarget, query: string, seconds: number): Promise<RunResult> =>
    measure({
      url: target.url,
      headers: target.headers(QUERIES[query]!.auth),
      body: JSON.stringify({ query: QUERIES[query]!.text }),
      expected: expected[query]![target.id]!,
      durationSeconds: seconds,
      connections,
      pid: target.proc.child.pid!,
      subgraphRequests,
    });

  step(`warming up (${warmupSeconds} s per gateway and query)`);
  for (const target of targets) for (const query of queryIds) await runOne(target, query, warmupSeconds);

  const samples: Sample[] = [];
  // When each gateway was measured (monotonic µs, the CPU profiles' clock): its profile is read inside these.
  const windows = new Map<TargetId, ProfileWindow[]>();
  const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);
  const total = rounds * targets.length * queryIds.length;
  for (let round = 0; round < rounds; round++) {
    // Rotate the order every round: no gateway always runs first (or right after the same neighbour).
    const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
    for (const target of order) {
      for (const query of queryIds) {
        const from = monotonicMicros();
        const result = await runOne(target, query, durationSeconds);
        windows.set(target.id, [...(windows.get(target.id) ?? []), { from, to: monotonicMicros() }]);
        samples.push({ target: target.id, query, round, result });
        process.stdout.write(
          `    [${samples.length}/${total}] round ${round + 1} ${TARGETS[target.id].padEnd(28)} ${query.padEnd(8)} ${result.rps.toFixed(0).padStart(6)} rps  p99 ${result.p99.toFixed(1).padStart(6)} ms  cpu ${result.cpuCores.toFixed(2)}  subgraph req/resp ${result.subgraphRequestsPerResponse.toFixed(2)}${result.wrong ? `  WRONG ${result.wrong}` : ""}\n`,
        );
      }
    }
  }

  const summary = summarize(samples);
  const report: BenchReport = {
    startedAt: startedAt.toISOString(),
    settings: { rounds, durationSeconds, connections, quick },
    machine: { cpus: os.cpus().length, node: process.version, loadAverageAtStart },
    queries: Object.fromEntries(queryIds.map((q) => [q, QUERIES[q]!.text])),
    samples,
    summary,
    ratios: ratioChecks(summary),
  };
  mkdirSync(outDir, { recursive: true });
  const base = quick ? "quick" : "latest";
  writeFileSync(path.join(outDir, `${base}.json`), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(path.join(outDir, `${base}.md`), `${markdownTable(report)}\n`);
  writeFileSync(path.join(outDir, `${base}.svg`), `${svgChart(report)}\n`);
  process.stdout.write(`${textTable(report)}\n\n`);
  step(`wrote ${path.join(outDir, `${base}.json`)}, .md and .svg`);
  const wrong = samples.reduce((n, s) => n + s.result.wrong, 0);

  if (args.profile) {
    // A profile is written when its process exits.
    await Promise.all(targets.map((t) => t.proc.stop(30_000)));
    for (const target of targets) {
      const dir = path.join(outDir, "profiles", target.id);
      const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".cpuprofile")) : [];
      if (files.length === 0) process.stdout.write(`\nno CPU profile written by ${TARGETS[target.id]}\n`);
      // A process that forked (Hive's workers) writes one per process: the largest is the one that served.
      const largest = files.map((f) => path.join(dir, f)).sort((x, y) => statSync(y).size - statSync(x).size)[0];
      if (largest)
        process.stdout.write(
          `\nCPU profile of ${TARGETS[target.id]}: ${largest}\n${summarizeProfile(JSON.parse(readFileSync(largest, "utf8")), { windows: windows.get(target.id) ?? [] })}\n`,
        );
    }
  }
  await stopAll();
  if (wrong > 0) fail(`${wrong} wrong answers under load: see the table`);
}

main().catch(async (error: unknown) => {
  process.stderr.write(`\nnpm run bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  await stopAll();
  process.exit(1);
});
