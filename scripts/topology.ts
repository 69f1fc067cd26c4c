/** The deployables `npm start` runs: every subgraph with a boot file, then the gateway. */
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";

/** Default ports (README, Endpoints). A subgraph not listed gets the next free number after 4007. */
const PORTS: Record<string, number> = {
  gateway: 4000,
  users: 4001,
  products: 4002,
  search: 4003,
  orders: 4004,
  payments: 4005,
  inventory: 4006,
  notifications: 4007,
};

export interface Deployable {
  name: string;
  kind: "subgraph" | "gateway";
  dir: string;
  port: number;
  /** Extra environment for this process. */
  env: Record<string, string>;
}

/** Discovers the deployables under `root` (subgraphs are picked up as they are added). */
export function deployables(root: string, basePort = 4000): Deployable[] {
  const base = path.join(root, "subgraphs");
  const names = existsSync(base)
    ? readdirSync(base, { withFileTypes: true })
        .filter((d) => d.isDirectory() && existsSync(path.join(base, d.name, "src", "index.ts")))
        .map((d) => d.name)
        .sort((a, b) => (PORTS[a] ?? 9999) - (PORTS[b] ?? 9999) || a.localeCompare(b))
    : [];
  const offset = basePort - 4000;
  let nextPort = 4008 + offset;
  const subgraphs: Deployable[] = names.map((name) => ({
    name,
    kind: "subgraph",
    dir: path.join(base, name),
    port: PORTS[name] !== undefined ? PORTS[name] + offset : nextPort++,
    env: {},
  }));
  const result = [...subgraphs];
  if (existsSync(path.join(root, "gateway", "src", "index.ts"))) {
    // The gateway reaches every subgraph at the port it was started on.
    const urls = Object.fromEntries(subgraphs.map((s) => [`SUBGRAPH_${s.name.toUpperCase()}_URL`, `http://127.0.0.1:${s.port}/graphql`]));
    const users = subgraphs.find((s) => s.name === "users");
    result.push({
      name: "gateway",
      kind: "gateway",
      dir: path.join(root, "gateway"),
      port: basePort,
      env: { ...urls, ...(users ? { JWKS_URL: `http://127.0.0.1:${users.port}/.well-known/jwks.json` } : {}) },
    });
  }
  return result;
}
