import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { databaseUrlFor, parsePgUrl, quoteIdent, withPgClient } from "@ecom/db";
import { createTestDatabase, deleteRedisKeys, dropStaleRuns, newRunPrefix, runDatabaseUrl, type TestRunInfo } from "@ecom/testing";

const run: TestRunInfo = inject("testRun");
const admin = parsePgUrl(run.adminUrl);

const sql = <T extends Record<string, unknown>>(url: string, text: string, params: unknown[] = []) =>
  withPgClient(parsePgUrl(url), async (c) => (await c.query<T>(text, params)).rows);
const databaseExists = async (name: string) =>
  (await withPgClient(admin, (c) => c.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]))).rowCount === 1;
const roleExists = async (name: string) =>
  (await withPgClient(admin, (c) => c.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [name]))).rowCount === 1;
const tableExists = async (url: string, table: string) =>
  (await sql<{ t: string | null }>(url, "SELECT to_regclass($1)::text AS t", [table]))[0]!.t !== null;

describe("the test run", () => {
  it("has a migrated database per service, named after the run's prefix", async () => {
    expect(run.prefix).toMatch(/^ecom_t[0-9a-z]{9}[0-9a-f]{4}$/);
    expect(run.services).toContain("users");
    expect(run.redisPrefix).toBe(`${run.prefix}:`);
    const url = runDatabaseUrl(run, "users");
    expect(parsePgUrl(url).database).toBe(`${run.prefix}_users`);
  });
});

describe("createTestDatabase", () => {
  it("gives each test an isolated, migrated clone, dropped on dispose", async () => {
    const template = runDatabaseUrl(run, "users");
    let nameA: string;
    {
      await using a = await createTestDatabase(run, "users");
      await using b = await createTestDatabase(run, "users");
      nameA = a.name;
      expect(a.name).not.toBe(b.name);
      expect(a.name.startsWith(`${run.prefix}_users_`)).toBe(true);
      // Migrated: the clone has the template's migration history and tables, as the service role.
      expect(await sql(a.url, "SELECT count(*)::int AS n FROM _prisma_migrations")).toEqual([{ n: expect.any(Number) }]);
      expect(await tableExists(a.url, "users")).toBe(true);
      expect((await sql<{ u: string }>(a.url, "SELECT current_user::text AS u"))[0]!.u).toBe(parsePgUrl(template).user);

      await sql(a.url, "CREATE TABLE isolation_probe (v text)");
      await sql(a.url, "INSERT INTO isolation_probe VALUES ('written in a')");
      expect(await sql(a.url, "SELECT v FROM isolation_probe")).toEqual([{ v: "written in a" }]);
      expect(await tableExists(b.url, "isolation_probe")).toBe(false);
      expect(await tableExists(template, "isolation_probe")).toBe(false);
      expect(await databaseExists(a.name)).toBe(true);
    }
    expect(await databaseExists(nameA)).toBe(false);
  });

  it("makes the clone private to its service role", async () => {
    const other = run.services.find((s) => s !== "users");
    if (!other) return; // one service only: nothing to compare with
    await using db = await createTestDatabase(run, "users");
    const intruder = parsePgUrl(runDatabaseUrl(run, other));
    await expect(withPgClient({ ...parsePgUrl(db.url), user: intruder.user, password: intruder.password }, async () => {})).rejects.toThrow(
      /permission denied for database/,
    );
  });

  it("drops on drop(), idempotently, even with a connection still open", async () => {
    const db = await createTestDatabase(run, "users");
    const { Client } = (await import("pg")).default;
    const lingering = new Client(parsePgUrl(db.url));
    lingering.on("error", () => {}); // it is terminated by the drop
    await lingering.connect();
    await db.drop();
    await db.drop();
    expect(await databaseExists(db.name)).toBe(false);
    await lingering.end().catch(() => {});
  });

  it("waits out a session briefly connected to the template instead of failing", async () => {
    const { Client } = (await import("pg")).default;
    const peeker = new Client(parsePgUrl(runDatabaseUrl(run, "users")));
    await peeker.connect();
    const released = new Promise((r) => setTimeout(r, 600)).then(() => peeker.end());
    const t0 = Date.now();
    await using db = await createTestDatabase(run, "users");
    await released;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
    expect(await databaseExists(db.name)).toBe(true);
  });

  it("refuses a service the run has no database for", async () => {
    await expect(createTestDatabase(run, "nope")).rejects.toThrow(/No database for service "nope"/);
  });
});

describe("dropStaleRuns", () => {
  const now = Date.now();
  const HOUR = 3_600_000;
  const stale = newRunPrefix(now - 3 * HOUR - 60_000);
  const recent = newRunPrefix(now - 3 * HOUR + 10 * 60_000);
  const names = (prefix: string) => ({ db: `${prefix}_users`, clone: `${prefix}_users_0a1b2c3d`, role: `${prefix}_users` });

  afterAll(async () => {
    await withPgClient(admin, async (c) => {
      for (const p of [stale, recent]) {
        const n = names(p);
        await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(n.db)} WITH (FORCE)`);
        await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(n.clone)} WITH (FORCE)`);
        await c.query(`DROP ROLE IF EXISTS ${quoteIdent(n.role)}`);
      }
    });
  });

  it("drops databases and roles of runs older than 3 hours, and only those", async () => {
    await withPgClient(admin, async (c) => {
      for (const p of [stale, recent]) {
        const n = names(p);
        await c.query(`CREATE ROLE ${quoteIdent(n.role)} LOGIN`);
        await c.query(`CREATE DATABASE ${quoteIdent(n.db)} OWNER ${quoteIdent(n.role)}`);
        await c.query(`CREATE DATABASE ${quoteIdent(n.clone)} OWNER ${quoteIdent(n.role)}`);
      }
    });
    const dropped = await dropStaleRuns(run.adminUrl, now);
    // (Another test run starting right now sweeps too and may have dropped the stale ones first: judge by state.)
    expect(dropped.filter((d) => d.startsWith(recent))).toEqual([]);
    expect(dropped.every((d) => !d.startsWith(run.prefix))).toBe(true);

    expect(await databaseExists(names(stale).db)).toBe(false);
    expect(await databaseExists(names(stale).clone)).toBe(false);
    expect(await roleExists(names(stale).role)).toBe(false);
    expect(await databaseExists(names(recent).db)).toBe(true);
    expect(await databaseExists(names(recent).clone)).toBe(true);
    expect(await roleExists(names(recent).role)).toBe(true);
    // The current run is untouched.
    expect(await databaseExists(`${run.prefix}_users`)).toBe(true);
    expect(await roleExists(parsePgUrl(databaseUrlFor("users", { prefix: run.prefix })).user)).toBe(true);
  });
});

describe("deleteRedisKeys", () => {
  it("deletes every key under the prefix, treating glob characters literally", async () => {
    const redis = new Redis(run.redisUrl);
    const prefix = `${run.redisPrefix}glob*[?]:`;
    const sibling = `${run.redisPrefix}globXX?:1`; // matched by the prefix if * and [?] were globs
    try {
      await redis.set(`${prefix}1`, "a");
      await redis.set(`${prefix}2`, "b");
      await redis.set(sibling, "keep");
      expect(await deleteRedisKeys(run.redisUrl, prefix)).toBe(2);
      expect(await redis.exists(`${prefix}1`, `${prefix}2`)).toBe(0);
      expect(await redis.get(sibling)).toBe("keep");
    } finally {
      await redis.del(sibling);
      redis.disconnect();
    }
  });
});
