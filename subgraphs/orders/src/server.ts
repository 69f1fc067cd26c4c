import { readFileSync } from "node:fs";
import type { Logger, Metrics } from "@ecom/observability";
import { createEntityClient, createSubgraphServer, type SubgraphServer } from "@ecom/service";
import { parse } from "graphql";
import { createLoaders, OrdersRepository } from "./datasources/orders.ts";
import type { Database } from "./datasources/prisma.ts";
import { ProductCatalog } from "./datasources/products.ts";
import type { Env } from "./env.ts";
import { createResolvers } from "./resolvers/index.ts";

/** The subgraph's SDL, as composed into the supergraph. */
export const typeDefs = parse(readFileSync(new URL("./schema.graphql", import.meta.url), "utf8"));

/** Everything the server is built from; the boot file (index.ts) or a test provides it. */
export interface ServerDeps {
  env: Pick<Env, "NODE_ENV" | "INTERNAL_SECRET" | "PRODUCTS_URL" | "PRODUCTS_TIMEOUT">;
  logger: Logger;
  metrics: Metrics;
  db: Database;
}

/** Builds the orders subgraph server (not listening). */
export function createServer(deps: ServerDeps): Promise<SubgraphServer> {
  const orders = new OrdersRepository(deps.db.prisma);
  const fetchEntities = createEntityClient({
    url: deps.env.PRODUCTS_URL,
    internalSecret: deps.env.INTERNAL_SECRET,
    timeoutMs: deps.env.PRODUCTS_TIMEOUT,
  });
  const products = new ProductCatalog(fetchEntities, deps.env.PRODUCTS_URL);
  return createSubgraphServer({
    name: "orders",
    typeDefs,
    resolvers: createResolvers({ orders, products }),
    logger: deps.logger,
    metrics: deps.metrics,
    // Products is not a readiness dependency: while it is down, orders still serve reads and idempotent replays.
    checks: [{ name: "postgres", check: deps.db.check }],
    internalSecret: deps.env.INTERNAL_SECRET,
    createLoaders: () => createLoaders(orders),
    development: deps.env.NODE_ENV === "development",
  });
}
