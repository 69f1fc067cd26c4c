/**
 * Every service's migrations create the outbox and inbox tables exactly as @ecom/events declares them
 * (EVENT_TABLES_SQL): the same columns, types, nullability, defaults and indexes. A service whose migration drifted
 * (a missing index, a renamed column) fails here instead of at its first event.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, inject, it } from "vitest";
import { EVENT_TABLES_SQL } from "@ecom/events";
import { formatPgUrl, parsePgUrl, quoteIdent, withPgClient } from "@ecom/db";
import { createTestDatabase, sql } from "@ecom/testing";

const run = inject("testRun");
const TABLES = ["outbox", "outbox_streams", "inbox"];

async function shape(url: string) {
  const columns = await sql(
    url,
    `SELECT table_name::text, column_name::text, data_type::text, is_nullable::text, column_default::text
     FROM information_schema.columns WHERE table_schema = 'public' AND table_name = ANY($1) ORDER BY table_name, column_name`,
    [TABLES],
  );
  const indexes = await sql(
    url,
    `SELECT tablename::text, indexname::text, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY($1) ORDER BY indexname`,
    [TABLES],
  );
  return { columns, indexes };
}

describe("event tables", () => {
  it("are the same in every service's migrated database as in @ecom/events", async () => {
    const admin = parsePgUrl(run.adminUrl);
    const name = `${run.prefix}_evschema_${randomBytes(3).toString("hex")}`;
    await withPgClient(admin, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
    try {
      const reference = formatPgUrl({ ...admin, database: name });
      await withPgClient(parsePgUrl(reference), (c) => c.query(EVENT_TABLES_SQL));
      const expected = await shape(reference);
      expect(expected.columns.length).toBeGreaterThan(15);
      expect(run.services.length).toBe(7);
      for (const service of run.services) {
        await using db = await createTestDatabase(run, service);
        expect(await shape(db.url), service).toEqual(expected);
      }
    } finally {
      await withPgClient(admin, (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
    }
  });
});
