/** Test harness: the products server on a free port, over a private database, with every SQL statement recorded. */
import { buildWithDatabase, startSubgraphForTest, testIdentities, type RunningSubgraph } from "@ecom/testing";
import { createDatabase } from "../src/datasources/prisma.ts";
import { createServer } from "../src/server.ts";

export { codesOf, sql, type GraphQLResponse } from "@ecom/testing";

export const { admin: ADMIN, customer: CUSTOMER } = testIdentities;

export type RunningProducts = RunningSubgraph;

/** Starts the products subgraph against `databaseUrl`. Dispose it (`await using`) before the database. */
export function startProducts(databaseUrl: string): Promise<RunningProducts> {
  return startSubgraphForTest({ service: "products", databaseUrl, build: buildWithDatabase(createDatabase, createServer, { max: 4 }) });
}
