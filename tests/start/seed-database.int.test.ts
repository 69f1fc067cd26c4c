/**
 * Seeds open their database with SEED_DATABASE_OPTIONS (@ecom/db): their Prisma interactive transactions may run
 * longer than Prisma's default 5 s, which a seed on a machine busy booting every process of `npm start` needed.
 * Real Prisma client (the search service's), real Postgres; the slow transaction is Postgres' own pg_sleep.
 */
import { describe, expect, inject, it } from "vitest";
import { SEED_DATABASE_OPTIONS } from "@ecom/db";
import { createTestDatabase } from "@ecom/testing";
import { createDatabase } from "../../subgraphs/search/src/datasources/prisma.ts";

const run = inject("testRun");

describe("a seed's database", { timeout: 60_000 }, () => {
  it("lets an interactive transaction run past Prisma's default 5 s", async () => {
    await using database = await createTestDatabase(run, "search");
    const db = createDatabase(database.url, SEED_DATABASE_OPTIONS);
    try {
      const rows = await db.prisma.$transaction(async (tx) =>
        tx.$queryRawUnsafe<Array<{ ok: number }>>("SELECT 1 AS ok FROM pg_sleep(5.5)"),
      );
      expect(rows).toEqual([{ ok: 1 }]);
    } finally {
      await db.close();
    }
  });

  it("applies the transaction timeout it is given (a short one fails the same transaction)", async () => {
    await using database = await createTestDatabase(run, "search");
    const db = createDatabase(database.url, { ...SEED_DATABASE_OPTIONS, transactionTimeoutMs: 300 });
    try {
      await expect(db.prisma.$transaction(async (tx) => tx.$queryRawUnsafe("SELECT 1 AS ok FROM pg_sleep(1)"))).rejects.toThrow(
        /timeout|expired|closed/i,
      );
    } finally {
      await db.close();
    }
  });
});
