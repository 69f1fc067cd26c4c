import { createTokenIssuer, jwksOf, type SigningKey } from "@ecom/auth";
import { commonSubgraphOptions, createSubgraphServer, loadTypeDefs, type SubgraphDeps, type SubgraphServer } from "@ecom/service";
import type { Database } from "./datasources/prisma.ts";
import { createLoaders, UsersRepository } from "./datasources/users.ts";
import type { Env } from "./env.ts";
import { createResolvers } from "./resolvers/index.ts";

/** The subgraph's SDL, as composed into the supergraph. */
export const typeDefs = loadTypeDefs(new URL("./schema.graphql", import.meta.url));

/** Everything the server is built from; the boot file (index.ts) or a test provides it. */
export interface ServerDeps extends SubgraphDeps<Database, Pick<Env, "JWT_ISSUER" | "JWT_AUDIENCE" | "JWT_TTL">> {
  signingKey: SigningKey;
}

/** Builds the users subgraph server (not listening). */
export function createServer(deps: ServerDeps): Promise<SubgraphServer> {
  const users = new UsersRepository(deps.db.prisma);
  const ttlSeconds = Math.floor(deps.env.JWT_TTL / 1000);
  const issueToken = createTokenIssuer(deps.signingKey, { issuer: deps.env.JWT_ISSUER, audience: deps.env.JWT_AUDIENCE, ttlSeconds });
  const jwks = jwksOf(deps.signingKey);
  return createSubgraphServer({
    ...commonSubgraphOptions("users", deps),
    typeDefs,
    resolvers: createResolvers({ users, issueToken, tokenTtlSeconds: ttlSeconds }),
    createLoaders: (_identity, loaderOptions) => createLoaders(users, loaderOptions),
    routes: (app) => {
      // The gateway verifies tokens with these public keys (cached there; rotated by publishing both keys).
      app.get("/.well-known/jwks.json", (_req, res) => {
        res.setHeader("cache-control", "public, max-age=300");
        res.json(jwks);
      });
    },
  });
}
