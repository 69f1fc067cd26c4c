/**
 * Where each deployable listens by default: the one port table of the platform. The composition script, the
 * gateway's defaults and the start script all read it, so adding a subgraph is one line here.
 */

/** Default port of the gateway. */
export const GATEWAY_PORT = 4000;

/** Default port of each subgraph, by subgraph name (the folder under `subgraphs/`). */
export const SUBGRAPHS = {
  users: 4001,
  products: 4002,
  search: 4003,
  orders: 4004,
  payments: 4005,
  inventory: 4006,
  notifications: 4007,
} as const satisfies Record<string, number>;

/** A subgraph of {@link SUBGRAPHS}. */
export type SubgraphName = keyof typeof SUBGRAPHS;

/** The subgraph names in port order. */
export const SUBGRAPH_NAMES = Object.keys(SUBGRAPHS) as SubgraphName[];

/** True when `name` is a subgraph of {@link SUBGRAPHS}. */
export function isSubgraphName(name: string): name is SubgraphName {
  return Object.hasOwn(SUBGRAPHS, name);
}

/** The environment variable that overrides a subgraph's URL at the gateway, e.g. `SUBGRAPH_USERS_URL`. */
export function subgraphUrlVariable(name: string): string {
  return `SUBGRAPH_${name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_URL`;
}

/** The development URL of a subgraph's GraphQL endpoint, e.g. `http://localhost:4001/graphql`. */
export function defaultSubgraphUrl(name: SubgraphName, host = "localhost"): string {
  return `http://${host}:${SUBGRAPHS[name]}/graphql`;
}
