import { commonSubgraphOptions, createSubgraphServer, loadTypeDefs, type SubgraphDeps, type SubgraphServer } from "@ecom/service";
import { createLoaders, NotificationsRepository } from "./datasources/notifications.ts";
import type { Database } from "./datasources/prisma.ts";
import { createResolvers } from "./resolvers/index.ts";

/** The subgraph's SDL, as composed into the supergraph. */
export const typeDefs = loadTypeDefs(new URL("./schema.graphql", import.meta.url));

/** Everything the server is built from; the boot file (index.ts) or a test provides it. */
export type ServerDeps = SubgraphDeps<Database>;

/** Builds the notifications subgraph server (not listening). */
export function createServer(deps: ServerDeps): Promise<SubgraphServer> {
  const notifications = new NotificationsRepository(deps.db.prisma);
  return createSubgraphServer({
    ...commonSubgraphOptions("notifications", deps),
    typeDefs,
    resolvers: createResolvers({ notifications }),
    createLoaders: (_identity, loaderOptions) => createLoaders(notifications, loaderOptions),
  });
}
