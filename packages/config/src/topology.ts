/**
 * Where each deployable listens by default: the one port table of the platform. The composition script, the
 * gateway's defaults, the start script and each subgraph's env schema read it, so adding a subgraph is one line
 * here. Also where each service's development database is.
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

/** A subgraph's worker (its event consumers and outbox relay) listens for health and metrics this far above it. */
export const WORKER_PORT_OFFSET = 100;

/** Default health/metrics port of a subgraph's worker process, e.g. 4103 for search. */
export function workerPort(name: SubgraphName): number {
  return SUBGRAPHS[name] + WORKER_PORT_OFFSET;
}

/** Default port of the development queue dashboard (bull-board). */
export const QUEUE_DASHBOARD_PORT = 4090;

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

/** Options of {@link databaseUrlFor}. */
export interface DatabaseUrlOptions {
  /** @default "127.0.0.1" */
  host?: string;
  /** @default 5432 */
  port?: number;
  /** Prefix of database and role names, e.g. `ecom` or a per-test-run prefix. @default "ecom" */
  prefix?: string;
}

/**
 * The development default URL of a service's database: role and database `<prefix>_<service>`, password equal
 * to the role name (local Postgres uses trust auth; production sets real URLs with real passwords).
 */
export function databaseUrlFor(service: string, options: DatabaseUrlOptions = {}): string {
  const name = `${options.prefix ?? "ecom"}_${service}`.toLowerCase();
  return `postgres://${name}:${name}@${options.host ?? "127.0.0.1"}:${options.port ?? 5432}/${name}`;
}
