import pg from "pg";
import { describe, expect, inject, it } from "vitest";
import { parsePgUrl } from "@ecom/db";
import { createTestDatabase, runDatabaseUrl } from "@ecom/testing";

async function query(url: string, sql: string) {
  const client = new pg.Client({ ...parsePgUrl(url), connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

describe("service databases and roles", () => {
  const run = inject("testRun");

  it("lets a service role read and write its own database", async () => {
    // A clone: the run's database is the template other tests clone, never written to.
    await using db = await createTestDatabase(run, "users");
    const url = db.url;
    await query(url, "CREATE TABLE IF NOT EXISTS role_probe (id int)");
    await query(url, "INSERT INTO role_probe VALUES (1)");
    const { rows } = await query(url, "SELECT count(*)::int AS n FROM role_probe");
    expect(rows[0].n).toBeGreaterThanOrEqual(1);
    await query(url, "DROP TABLE role_probe");
  });

  it("refuses a service role that connects to another service's database", async () => {
    const users = parsePgUrl(runDatabaseUrl(run, "users"));
    const other = run.services.find((s) => s !== "users");
    if (!other) throw new Error("needs at least two services");
    const foreign = { ...parsePgUrl(runDatabaseUrl(run, other)), user: users.user, password: users.password };
    const client = new pg.Client({ ...foreign, connectionTimeoutMillis: 3000 });
    await expect(client.connect()).rejects.toThrow(/permission denied for database/);
    await client.end().catch(() => {});
  });

  it("gives service roles no superuser, CREATEDB or CREATEROLE power", async () => {
    const url = runDatabaseUrl(run, "users");
    const { rows } = await query(url, "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user");
    expect(rows[0]).toEqual({ rolsuper: false, rolcreatedb: false, rolcreaterole: false });
  });
});
