/** Test harness: the notifications server on a free port, over a private database, with every SQL statement recorded. */
import { buildWithDatabase, startSubgraphForTest, testIdentities, type RunningSubgraph } from "@ecom/testing";
import { createDatabase } from "../src/datasources/prisma.ts";
import { createServer } from "../src/server.ts";

export { codesOf, sql, type GraphQLResponse } from "@ecom/testing";

export const { admin: ADMIN, alice: ALICE, bob: BOB } = testIdentities;

export type RunningNotifications = RunningSubgraph;

/** Starts the notifications subgraph against `databaseUrl`. Dispose it (`await using`) before the database. */
export function startNotifications(databaseUrl: string): Promise<RunningNotifications> {
  return startSubgraphForTest({ service: "notifications", databaseUrl, build: buildWithDatabase(createDatabase, createServer) });
}

/** Statements that read the notifications table (transaction control excluded). */
export const notificationStatements = (statements: readonly string[]) =>
  statements.filter((s) => /\bnotifications\b/i.test(s) && !/^\s*(BEGIN|COMMIT|ROLLBACK)/i.test(s));
