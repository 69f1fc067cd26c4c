import { commonSubgraphOptions, createSubgraphServer, loadTypeDefs, type SubgraphDeps, type SubgraphServer } from "@ecom/service";
import { createLoaders, PaymentsRepository } from "./datasources/payments.ts";
import type { Database } from "./datasources/prisma.ts";
import { PaymentsService } from "./domain/payments-service.ts";
import { createResolvers } from "./resolvers/index.ts";

/** The subgraph's SDL, as composed into the supergraph. */
export const typeDefs = loadTypeDefs(new URL("./schema.graphql", import.meta.url));

/** Everything the server is built from; the boot file (index.ts) or a test provides it. */
export type ServerDeps = SubgraphDeps<Database>;

/** Builds the payments subgraph server (not listening). */
export function createServer(deps: ServerDeps): Promise<SubgraphServer> {
  const repo = new PaymentsRepository(deps.db.prisma);
  return createSubgraphServer({
    ...commonSubgraphOptions("payments", deps),
    typeDefs,
    resolvers: createResolvers({ payments: new PaymentsService(repo) }),
    createLoaders: (_identity, loaderOptions) => createLoaders(repo, loaderOptions),
  });
}
