import { readFileSync } from "node:fs";
import type { Logger, Metrics } from "@ecom/observability";
import { createSubgraphServer, type SubgraphServer } from "@ecom/service";
import { parse } from "graphql";
import { createLoaders, NotificationsRepository } from "./datasources/notifications.ts";
import type { Database } from "./datasources/prisma.ts";
import type { Env } from "./env.ts";
import { createResolvers } from "./resolvers/index.ts";

/** The subgraph's SDL, as composed into the supergraph. */
export const typeDefs = parse(readFileSync(new URL("./schema.graphql", import.meta.url), "utf8"));

/** Everything the server is built from; the boot file (index.ts) or a test provides it. */
export interface ServerDeps {
  env: Pick<Env, "NODE_ENV" | "INTERNAL_SECRET">;
  logger: Logger;
  metrics: Metrics;
  db: Database;
}

/** Builds the notifications subgraph server (not listening). */
export function createServer(deps: ServerDeps): Promise<SubgraphServer> {
  const notifications = new NotificationsRepository(deps.db.prisma);
  return createSubgraphServer({
    name: "notifications",
    typeDefs,
    resolvers: createResolvers({ notifications }),
    logger: deps.logger,
    metrics: deps.metrics,
    checks: [{ name: "postgres", check: deps.db.check }],
    internalSecret: deps.env.INTERNAL_SECRET,
    createLoaders: () => createLoaders(notifications),
    development: deps.env.NODE_ENV === "development",
  });
}
