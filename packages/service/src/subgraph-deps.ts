import { readFileSync } from "node:fs";
import type { Logger, Metrics } from "@ecom/observability";
import { parse, type DocumentNode } from "graphql";
import { shutdownTimings } from "./shutdown.ts";

/**
 * What every database-backed subgraph's `createServer(deps)` receives; `TEnv` adds the subgraph's own settings.
 * The boot file builds it from the environment, tests from a fresh database.
 */
export interface SubgraphDeps<TDb extends { check(): Promise<unknown> }, TEnv extends object = object> {
  env: { NODE_ENV: string; INTERNAL_SECRET: string; SHUTDOWN_DELAY?: number; DRAIN_TIMEOUT?: number } & TEnv;
  logger: Logger;
  metrics: Metrics;
  db: TDb;
}

/** Reads and parses a subgraph's SDL file, e.g. `loadTypeDefs(new URL("./schema.graphql", import.meta.url))`. */
export function loadTypeDefs(file: URL): DocumentNode {
  return parse(readFileSync(file, "utf8"));
}

/**
 * The options of `createSubgraphServer` that every database-backed subgraph sets the same way: its name, logger
 * and metrics, a Postgres readiness check, the internal secret, development mode from NODE_ENV, and the graceful
 * shutdown timings from SHUTDOWN_DELAY and DRAIN_TIMEOUT.
 */
export function commonSubgraphOptions(name: string, deps: SubgraphDeps<{ check(): Promise<unknown> }>) {
  const { shutdownDelayMs, drainTimeoutMs } = shutdownTimings(deps.env);
  return {
    shutdownDelayMs,
    drainTimeoutMs,
    name,
    logger: deps.logger,
    metrics: deps.metrics,
    checks: [{ name: "postgres", check: () => deps.db.check() }],
    internalSecret: deps.env.INTERNAL_SECRET,
    development: deps.env.NODE_ENV === "development",
  };
}
