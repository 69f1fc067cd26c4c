/** Test harness: the inventory server on a free port, over a private database, with every SQL statement recorded. */
import { identityToHeaders, type Identity } from "@ecom/auth";
import { createLogger, createMetrics } from "@ecom/observability";
import pg from "pg";
import { createDatabase } from "../src/datasources/prisma.ts";
import { createServer } from "../src/server.ts";

export const SECRET = "test-internal-secret-0123456789";

export const ADMIN: Identity = { userId: "00000000-0000-4000-8000-00000000000a", role: "ADMIN" };
export const CUSTOMER: Identity = { userId: "00000000-0000-4000-8000-00000000000c", role: "CUSTOMER" };

/** A GraphQL response as the tests read it. */
export interface GraphQLResponse<T = Record<string, unknown>> {
  data?: T | null;
  errors?: Array<{ message: string; path?: string[]; extensions?: { code?: string; field?: string; [k: string]: unknown } }>;
}

export interface RunningInventory extends AsyncDisposable {
  url: string;
  /** SQL statements run since the last {@link RunningInventory.resetStatements}. */
  statements: string[];
  resetStatements(): void;
  /** POSTs a GraphQL operation, as `identity` (anonymous when null). */
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    identity?: Identity | null,
  ): Promise<GraphQLResponse<T>>;
}

/** Starts the inventory subgraph against `databaseUrl`. Dispose it (`await using`) before the database. */
export async function startInventory(databaseUrl: string): Promise<RunningInventory> {
  const statements: string[] = [];
  const db = createDatabase(databaseUrl, { max: 10, onQuery: (sql) => statements.push(sql) });
  const server = await createServer({
    env: { NODE_ENV: "test", INTERNAL_SECRET: SECRET },
    logger: createLogger({ service: "inventory", level: "silent" }),
    metrics: createMetrics({ service: "inventory", defaultMetrics: false }),
    db,
  });
  const { url } = await server.listen(0, "127.0.0.1");
  return {
    url,
    statements,
    resetStatements: () => void (statements.length = 0),
    async gql(query, variables = {}, identity = null) {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", ...identityToHeaders(identity, SECRET) },
        body: JSON.stringify({ query, variables }),
      });
      return (await res.json()) as never;
    },
    async [Symbol.asyncDispose]() {
      await server.stop();
      await db.close();
    },
  };
}

/** The `extensions.code` of each error of a response. */
export const codesOf = (res: GraphQLResponse<unknown>) => (res.errors ?? []).map((e) => e.extensions?.code);

/** Runs one SQL statement on `url` with a plain pg client (to arrange or inspect rows the API does not expose). */
export async function sql<R extends Record<string, unknown> = Record<string, unknown>>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}
