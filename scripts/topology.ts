/**
 * The deployables `npm start` runs: every subgraph with a boot file, each subgraph's worker (`src/worker.ts`: its
 * event consumers and outbox relay), the gateway, and in development the queue dashboard.
 */
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { GATEWAY_PORT, QUEUE_DASHBOARD_PORT, SUBGRAPHS, WORKER_PORT_OFFSET, isSubgraphName, subgraphUrlVariable } from "@ecom/config";

export interface Deployable {
  name: string;
  /** Every kind is started and supervised the same way by `npm start`; `dashboard`: development only (the queue
   * dashboard), never deployed. */
  kind: "subgraph" | "worker" | "gateway" | "dashboard";
  dir: string;
  /** The file it runs, relative to `dir`. */
  entry: string;
  /** Where its `/health/ready` answers (and its `PORT`). */
  port: number;
  /** Extra environment for this process. */
  env: Record<string, string>;
}

/**
 * V8 flags of the gateway process: a young generation (semi-space) of 64 MiB instead of V8's 16 MiB. A gateway
 * allocates many short-lived objects per request (plans walked, results merged, JSON in and out); measured with
 * `npm run bench -- --targets a,f --node-options-a=--max-semi-space-size=64`, GC time per response halved (0.34
 * to 0.17 ms on the orders query). The young generation only grows to it under load. Also set in
 * gateway/package.json (`npm run start -w gateway`) and the Dockerfile (NODE_OPTIONS).
 */
export const GATEWAY_NODE_OPTIONS = "--max-semi-space-size=64";

/** A subgraph's default port; unknown (newly added) subgraphs sort last. */
const portOf = (name: string) => (isSubgraphName(name) ? SUBGRAPHS[name] : Number.MAX_SAFE_INTEGER);

/** Discovers the deployables under `root` (subgraphs are picked up as they are added). */
export function deployables(root: string, basePort = GATEWAY_PORT): Deployable[] {
  const base = path.join(root, "subgraphs");
  const names = existsSync(base)
    ? readdirSync(base, { withFileTypes: true })
        .filter((d) => d.isDirectory() && existsSync(path.join(base, d.name, "src", "index.ts")))
        .map((d) => d.name)
        .sort((a, b) => portOf(a) - portOf(b) || a.localeCompare(b))
    : [];
  const offset = basePort - GATEWAY_PORT;
  let nextPort = Math.max(...Object.values(SUBGRAPHS)) + 1 + offset;
  const subgraphs: Deployable[] = names.map((name) => ({
    name,
    kind: "subgraph",
    dir: path.join(base, name),
    entry: "src/index.ts",
    port: isSubgraphName(name) ? SUBGRAPHS[name] + offset : nextPort++,
    env: {},
  }));
  // A worker listens (health, metrics) WORKER_PORT_OFFSET above its subgraph.
  const workers: Deployable[] = subgraphs
    .filter((s) => existsSync(path.join(s.dir, "src", "worker.ts")))
    .map((s) => ({
      name: `${s.name}-worker`,
      kind: "worker",
      dir: s.dir,
      entry: "src/worker.ts",
      port: s.port + WORKER_PORT_OFFSET,
      env: {},
    }));
  // Orders prices new orders through products (PRODUCTS_URL; the `calls` of scripts/deploy-spec.ts): its default is
  // port 4002, wrong for any other START_BASE_PORT.
  const products = subgraphs.find((s) => s.name === "products");
  for (const d of [...subgraphs, ...workers]) {
    if (products && path.basename(d.dir) === "orders") d.env["PRODUCTS_URL"] = `http://127.0.0.1:${products.port}/graphql`;
  }
  const result = [...subgraphs, ...workers];
  if (existsSync(path.join(root, "gateway", "src", "index.ts"))) {
    // The gateway reaches every subgraph at the port it was started on.
    const urls = Object.fromEntries(subgraphs.map((s) => [subgraphUrlVariable(s.name), `http://127.0.0.1:${s.port}/graphql`]));
    const users = subgraphs.find((s) => s.name === "users");
    result.push({
      name: "gateway",
      kind: "gateway",
      dir: path.join(root, "gateway"),
      entry: "src/index.ts",
      port: basePort,
      env: {
        ...urls,
        ...(users ? { JWKS_URL: `http://127.0.0.1:${users.port}/.well-known/jwks.json` } : {}),
        // Added to whatever NODE_OPTIONS the user runs `npm start` with.
        NODE_OPTIONS: [process.env["NODE_OPTIONS"], GATEWAY_NODE_OPTIONS].filter(Boolean).join(" "),
      },
    });
  }
  if (workers.length > 0 && existsSync(path.join(root, "scripts", "queue-dashboard.ts"))) {
    result.push({
      name: "queues",
      kind: "dashboard",
      dir: root,
      entry: "scripts/queue-dashboard.ts",
      port: QUEUE_DASHBOARD_PORT + offset,
      env: {},
    });
  }
  return result;
}

/** Instances per subgraph, from `--scale products=2` (repeatable, or comma-separated: `products=2,search=3`). */
export type Scale = Record<string, number>;

/**
 * Ports of extra instances of a subgraph step by SCALE_PORT_STEP above the subgraph's own: a
 * step of 1000 stays clear of the workers (WORKER_PORT_OFFSET, 100 above their subgraph) and of every other port.
 */
export const SCALE_PORT_STEP = 1000;

/** Most instances of one subgraph `npm start` runs. */
export const MAX_SCALE = 9;

/**
 * Reads `--scale name=count` options of `npm start`.
 * @throws Error naming the fix for an unknown subgraph, a bad count or a malformed option.
 */
export function parseScaleArgs(argv: readonly string[], subgraphNames: readonly string[]): Scale {
  const scale: Scale = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    let value: string | undefined;
    if (arg === "--scale") value = argv[++i];
    else if (arg.startsWith("--scale=")) value = arg.slice("--scale=".length);
    else continue;
    if (!value) throw new Error("--scale needs name=count, e.g. npm start -- --scale products=2");
    for (const part of value.split(",")) {
      const m = /^([a-z][a-z0-9-]*)=(\d+)$/.exec(part.trim());
      if (!m) throw new Error(`--scale ${part}: use name=count, e.g. --scale products=2`);
      const [, name, count] = m as unknown as [string, string, string];
      if (!subgraphNames.includes(name)) throw new Error(`--scale ${part}: no subgraph "${name}" (subgraphs: ${subgraphNames.join(", ")})`);
      if (Number(count) < 1 || Number(count) > MAX_SCALE) throw new Error(`--scale ${part}: the count must be 1 to ${MAX_SCALE}`);
      scale[name] = Number(count);
    }
  }
  return scale;
}

/**
 * The deployables with extra instances of scaled subgraphs (`products-2` on port 5002, `products-3` on 6002...).
 * With any scale above 1, every subgraph registers in the service registry and the gateway balances across the
 * registered instances (DISCOVERY_MODE=registry); without, nothing changes.
 */
export function withScale(all: readonly Deployable[], scale: Scale): Deployable[] {
  if (!Object.values(scale).some((n) => n > 1)) return [...all];
  const registry = { DISCOVERY_MODE: "registry" };
  const result: Deployable[] = [];
  for (const d of all) {
    const scaled = d.kind === "subgraph" || d.kind === "gateway" ? { ...d, env: { ...d.env, ...registry } } : d;
    result.push(scaled);
    for (let copy = 2; d.kind === "subgraph" && copy <= (scale[d.name] ?? 1); copy++) {
      result.push({ ...scaled, name: `${d.name}-${copy}`, port: d.port + SCALE_PORT_STEP * (copy - 1) });
    }
  }
  return result;
}
