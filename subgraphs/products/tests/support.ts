/** Test harness: the products server on a free port, over a private database, with every SQL statement recorded. */
import type { Identity } from "@ecom/auth";
import { buildWithDatabase, codesOf, createTestDatabase, startSubgraphForTest, testIdentities, type RunningSubgraph } from "@ecom/testing";
import { expect, inject } from "vitest";
import { createDatabase } from "../src/datasources/prisma.ts";
import { createServer } from "../src/server.ts";

export { codesOf, sql, type GraphQLResponse } from "@ecom/testing";

export const { admin: ADMIN, customer: CUSTOMER } = testIdentities;

export type RunningProducts = RunningSubgraph;

/** Starts the products subgraph against `databaseUrl`. Dispose it (`await using`) before the database. */
export function startProducts(databaseUrl: string): Promise<RunningProducts> {
  return startSubgraphForTest({ service: "products", databaseUrl, build: buildWithDatabase(createDatabase, createServer, { max: 4 }) });
}

/**
 * Sends one operation, as `identity`, to a products subgraph over an empty database of its own, and checks that it
 * is refused before the database: one BAD_USER_INPUT naming `field`, and not one SQL statement.
 */
export async function expectRefusedBeforeTheDatabase(
  query: string,
  variables: Record<string, unknown>,
  field: string,
  identity: Identity | null = null,
): Promise<void> {
  await using db = await createTestDatabase(inject("testRun"), "products");
  await using api = await startProducts(db.url);
  api.resetStatements();
  const res = await api.gql(query, variables, identity);
  expect(codesOf(res)).toEqual(["BAD_USER_INPUT"]);
  expect(res.errors![0]!.extensions!.field).toBe(field);
  expect(api.statements).toEqual([]);
}
