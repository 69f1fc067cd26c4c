/** Test harness: the inventory server on a free port, over a private database, with every SQL statement recorded. */
import { buildWithDatabase, startSubgraphForTest, testIdentities, type RunningSubgraph } from "@ecom/testing";
import { createDatabase } from "../src/datasources/prisma.ts";
import { createServer } from "../src/server.ts";

export { codesOf, sql, type GraphQLResponse } from "@ecom/testing";

export const { admin: ADMIN, customer: CUSTOMER } = testIdentities;

export type RunningInventory = RunningSubgraph;

/** Starts the inventory subgraph against `databaseUrl`. Dispose it (`await using`) before the database. */
export function startInventory(databaseUrl: string): Promise<RunningInventory> {
  return startSubgraphForTest({ service: "inventory", databaseUrl, build: buildWithDatabase(createDatabase, createServer) });
}
