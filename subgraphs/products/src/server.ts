import { commonSubgraphOptions, createSubgraphServer, loadTypeDefs, type SubgraphDeps, type SubgraphServer } from "@ecom/service";
import { CatalogRepository, createLoaders } from "./datasources/catalog.ts";
import type { Database } from "./datasources/prisma.ts";
import { createResolvers } from "./resolvers/index.ts";

/** The subgraph's SDL, as composed into the supergraph. */
export const typeDefs = loadTypeDefs(new URL("./schema.graphql", import.meta.url));

/** Everything the server is built from; the boot file (index.ts) or a test provides it. */
export type ServerDeps = SubgraphDeps<Database>;

/** Builds the products subgraph server (not listening). */
export function createServer(deps: ServerDeps): Promise<SubgraphServer> {
  const catalog = new CatalogRepository(deps.db.prisma);
  return createSubgraphServer({
    ...commonSubgraphOptions("products", deps),
    typeDefs,
    resolvers: createResolvers({ catalog }),
    createLoaders: (_identity, loaderOptions) => createLoaders(catalog, loaderOptions),
  });
}
