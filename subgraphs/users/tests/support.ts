/** Test harness: the users server on a free port, over a private database, with every SQL statement recorded. */
import { loadSigningKey, type SigningKey } from "@ecom/auth";
import { startSubgraphForTest, type RunningSubgraph } from "@ecom/testing";
import { createDatabase } from "../src/datasources/prisma.ts";
import { createServer } from "../src/server.ts";

export { codesOf, sql, testIdentities, type GraphQLResponse } from "@ecom/testing";

export const JWT = { issuer: "ecom-users", audience: "ecom-gateway" } as const;

export interface RunningUsers extends RunningSubgraph {
  signingKey: SigningKey;
}

/** Starts the users subgraph against `databaseUrl` with a fresh signing key. Dispose it before the database. */
export async function startUsers(databaseUrl: string, options: { ttlMs?: number } = {}): Promise<RunningUsers> {
  const signingKey = await loadSigningKey();
  const running = await startSubgraphForTest({
    service: "users",
    databaseUrl,
    build: async ({ onQuery, deps }) => {
      const db = createDatabase(databaseUrl, { max: 10, onQuery });
      const server = await createServer({
        ...deps,
        env: { ...deps.env, JWT_ISSUER: JWT.issuer, JWT_AUDIENCE: JWT.audience, JWT_TTL: options.ttlMs ?? 3_600_000 },
        db,
        signingKey,
      });
      return { server, close: db.close };
    },
  });
  return Object.assign(running, { signingKey });
}
