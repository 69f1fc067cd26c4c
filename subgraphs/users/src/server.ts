import { readFileSync } from "node:fs";
import { createTokenIssuer, jwksOf, type SigningKey } from "@ecom/auth";
import type { Logger, Metrics } from "@ecom/observability";
import { createSubgraphServer, type SubgraphServer } from "@ecom/service";
import { parse } from "graphql";
import type { Database } from "./datasources/prisma.ts";
import { createLoaders, UsersRepository } from "./datasources/users.ts";
import type { Env } from "./env.ts";
import { createResolvers } from "./resolvers/index.ts";

/** The subgraph's SDL, as composed into the supergraph. */
export const typeDefs = parse(readFileSync(new URL("./schema.graphql", import.meta.url), "utf8"));

/** Everything the server is built from; the boot file (index.ts) or a test provides it. */
export interface ServerDeps {
  env: Pick<Env, "NODE_ENV" | "INTERNAL_SECRET" | "JWT_ISSUER" | "JWT_AUDIENCE" | "JWT_TTL">;
  logger: Logger;
  metrics: Metrics;
  db: Database;
  signingKey: SigningKey;
}

/** Builds the users subgraph server (not listening). */
export function createServer(deps: ServerDeps): Promise<SubgraphServer> {
  const users = new UsersRepository(deps.db.prisma);
  const ttlSeconds = Math.floor(deps.env.JWT_TTL / 1000);
  const issueToken = createTokenIssuer(deps.signingKey, { issuer: deps.env.JWT_ISSUER, audience: deps.env.JWT_AUDIENCE, ttlSeconds });
  const jwks = jwksOf(deps.signingKey);
  return createSubgraphServer({
    name: "users",
    typeDefs,
    resolvers: createResolvers({ users, issueToken, tokenTtlSeconds: ttlSeconds }),
    logger: deps.logger,
    metrics: deps.metrics,
    checks: [{ name: "postgres", check: deps.db.check }],
    internalSecret: deps.env.INTERNAL_SECRET,
    createLoaders: () => createLoaders(users),
    development: deps.env.NODE_ENV === "development",
    routes: (app) => {
      // The gateway verifies tokens with these public keys (cached there; rotated by publishing both keys).
      app.get("/.well-known/jwks.json", (_req, res) => {
        res.setHeader("cache-control", "public, max-age=300");
        res.json(jwks);
      });
    },
  });
}
