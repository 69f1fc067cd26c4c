import { readFileSync } from "node:fs";
import type { Logger, Metrics } from "@ecom/observability";
import { createSubgraphServer, type SubgraphServer } from "@ecom/service";
import { parse } from "graphql";
import { createLoaders, PaymentsRepository } from "./datasources/payments.ts";
import type { Database } from "./datasources/prisma.ts";
import { PaymentsService } from "./domain/payments-service.ts";
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

/** Builds the payments subgraph server (not listening). */
export function createServer(deps: ServerDeps): Promise<SubgraphServer> {
  const repo = new PaymentsRepository(deps.db.prisma);
  return createSubgraphServer({
    name: "payments",
    typeDefs,
    resolvers: createResolvers({ payments: new PaymentsService(repo) }),
    logger: deps.logger,
    metrics: deps.metrics,
    checks: [{ name: "postgres", check: deps.db.check }],
    internalSecret: deps.env.INTERNAL_SECRET,
    createLoaders: () => createLoaders(repo),
    development: deps.env.NODE_ENV === "development",
  });
}
