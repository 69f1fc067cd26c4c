import { commonSubgraphOptions, createSubgraphServer, loadTypeDefs, type SubgraphDeps, type SubgraphServer } from "@ecom/service";
import type { Database } from "./datasources/prisma.ts";
import { createLoaders, SearchIndex } from "./datasources/search-index.ts";
import { createResolvers } from "./resolvers/index.ts";

/** The subgraph's SDL, as composed into the supergraph. */
export const typeDefs = loadTypeDefs(new URL("./schema.graphql", import.meta.url));

/** Everything the server is built from; the boot file (index.ts) or a test provides it. */
export type ServerDeps = SubgraphDeps<Database>;

/** Builds the search subgraph server (not listening). */
export function createServer(deps: ServerDeps): Promise<SubgraphServer> {
  const index = new SearchIndex(deps.db.prisma);
  return createSubgraphServer({
    ...commonSubgraphOptions("search", deps),
    typeDefs,
    resolvers: createResolvers({ index }),
    createLoaders,
  });
}
