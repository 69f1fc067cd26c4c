import { commonSubgraphOptions, createSubgraphServer, loadTypeDefs, type SubgraphDeps, type SubgraphServer } from "@ecom/service";
import type { Database } from "./datasources/prisma.ts";
import { createLoaders, StockRepository } from "./datasources/stock.ts";
import { createResolvers } from "./resolvers/index.ts";

/** The subgraph's SDL, as composed into the supergraph. */
export const typeDefs = loadTypeDefs(new URL("./schema.graphql", import.meta.url));

/** Everything the server is built from; the boot file (index.ts) or a test provides it. */
export type ServerDeps = SubgraphDeps<Database>;

/** Builds the inventory subgraph server (not listening). */
export function createServer(deps: ServerDeps): Promise<SubgraphServer> {
  const stock = new StockRepository(deps.db.prisma);
  return createSubgraphServer({
    ...commonSubgraphOptions("inventory", deps),
    typeDefs,
    resolvers: createResolvers({ stock }),
    createLoaders: (_identity, loaderOptions) => createLoaders(stock, loaderOptions),
  });
}
