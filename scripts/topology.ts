/** The deployables `npm start` runs: every subgraph with a boot file, then the gateway. */
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { GATEWAY_PORT, SUBGRAPHS, isSubgraphName, subgraphUrlVariable } from "@ecom/config";

export interface Deployable {
  name: string;
  /** Every kind is started and supervised the same way by `npm start`; the gateway starts last. */
  kind: "subgraph" | "gateway" | "worker";
  dir: string;
  /** Where its `/health/ready` answers (and its `PORT`). */
  port: number;
  /**
   * Boot file, relative to `dir`.
   * @default "src/index.ts"
   */
  entry?: string;
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
    port: isSubgraphName(name) ? SUBGRAPHS[name] + offset : nextPort++,
    env: {},
  }));
  const result = [...subgraphs];
  if (existsSync(path.join(root, "gateway", "src", "index.ts"))) {
    // The gateway reaches every subgraph at the port it was started on.
    const urls = Object.fromEntries(subgraphs.map((s) => [subgraphUrlVariable(s.name), `http://127.0.0.1:${s.port}/graphql`]));
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
