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
      env: { ...urls, ...(users ? { JWKS_URL: `http://127.0.0.1:${users.port}/.well-known/jwks.json` } : {}) },
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
