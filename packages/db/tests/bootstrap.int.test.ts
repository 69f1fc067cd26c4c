import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import type pg from "pg";
import { afterAll, describe, expect, inject, it } from "vitest";
import {
  bootstrapDatabases,
  databaseUrlFor,
  discoverServiceDatabases,
  dropServiceDatabase,
  ensureServiceDatabase,
  parsePgUrl,
  withPgClient,
  type ServiceDatabase,
} from "@ecom/db";
import type { TestRunInfo } from "@ecom/testing";

const run: TestRunInfo = inject("testRun");
const admin = parsePgUrl(run.adminUrl);
// Inside the run's prefix, so the run's teardown (databases) or a later run's stale sweep (roles) removes
// leftovers should this file crash before afterAll.
const prefix = `${run.prefix}_bt`;
const urlFor = (service: string) => databaseUrlFor(service, { prefix, host: admin.host, port: admin.port });
const created = new Set<string>();

afterAll(async () => {
  for (const service of created) await dropServiceDatabase(admin, urlFor(service));
  const left = await withPgClient(admin, (c) =>
    c.query<{ name: string }>(
      "SELECT datname::text AS name FROM pg_database WHERE datname LIKE $1 UNION ALL SELECT rolname::text FROM pg_roles WHERE rolname LIKE $1",
      [`${prefix.replace(/_/g, "\\_")}%`],
    ),
  );
  expect(left.rows).toEqual([]);
});

/** Runs `sql` as the admin in the service's database. */
async function inServiceDb<T extends pg.QueryResultRow>(service: string, sql: string, params: unknown[] = []): Promise<T[]> {
  return withPgClient({ ...admin, database: parsePgUrl(urlFor(service)).database }, async (c) => (await c.query<T>(sql, params)).rows);
}

function migrationFolders(service: ServiceDatabase): string[] {
  const dir = path.join(service.dir, "prisma", "migrations");
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

function tablesCreatedBy(service: ServiceDatabase): string[] {
  const dir = path.join(service.dir, "prisma", "migrations");
  return migrationFolders(service).flatMap((m) =>
    [...readFileSync(path.join(dir, m, "migration.sql"), "utf8").matchAll(/CREATE TABLE "([^"]+)"/g)].map((x) => x[1]!),
  );
}

async function snapshot(service: string) {
  return {
    migrations: await inServiceDb(
      "" + service,
      "SELECT id, migration_name, checksum, finished_at FROM _prisma_migrations ORDER BY migration_name",
    ),
    tables: await inServiceDb(
      service,
      "SELECT tablename::text AS name, tableowner::text AS owner FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
    ),
  };
}

describe("bootstrapDatabases", () => {
  const services = discoverServiceDatabases(run.rootDir);

  it("discovers every subgraph that has a Prisma schema", () => {
    expect(services.map((s) => s.name)).toContain("users");
    expect(services.map((s) => s.name)).toEqual(run.services);
  });

  it("takes an empty Postgres to fully migrated, then changes nothing on a second run", async () => {
    for (const s of services) created.add(s.name);
    const progress: string[] = [];
    await bootstrapDatabases({ adminUrl: run.adminUrl, services, urlFor, onProgress: (l) => progress.push(l) });
    for (const s of services) expect(progress).toContain(`${s.name}: database created, role created`);

    const before: Record<string, Awaited<ReturnType<typeof snapshot>>> = {};
    for (const service of services) {
      const role = parsePgUrl(urlFor(service.name)).user;
      const state = await snapshot(service.name);
      before[service.name] = state;
      // One applied row per migration folder, none failed or rolled back.
      expect(state.migrations.map((m) => m["migration_name"])).toEqual(migrationFolders(service));
      const unfinished = await inServiceDb(
        service.name,
        "SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NULL OR rolled_back_at IS NOT NULL",
      );
      expect(unfinished).toEqual([]);
      // Every table the migrations create exists, owned by the service role (migrations ran as that role).
      const tables = state.tables.map((t) => t["name"]);
      expect(tablesCreatedBy(service).length).toBeGreaterThan(0);
      for (const table of tablesCreatedBy(service)) expect(tables).toContain(table);
      for (const t of state.tables) expect(t["owner"]).toBe(role);
    }

    const again: string[] = [];
    await bootstrapDatabases({ adminUrl: run.adminUrl, services, urlFor, onProgress: (l) => again.push(l) });
    for (const s of services) expect(again).toContain(`${s.name}: database exists, role exists`);
    for (const service of services) expect(await snapshot(service.name)).toEqual(before[service.name]);
  }, 240_000);
});

describe("ensureServiceDatabase", () => {
  it("creates a private database: its role connects, other roles get permission denied", async () => {
    created.add("alpha");
    created.add("beta");
    expect(await ensureServiceDatabase(admin, urlFor("alpha"))).toEqual({ createdRole: true, createdDatabase: true });
    expect(await ensureServiceDatabase(admin, urlFor("beta"))).toEqual({ createdRole: true, createdDatabase: true });
    // Idempotent.
    expect(await ensureServiceDatabase(admin, urlFor("alpha"))).toEqual({ createdRole: false, createdDatabase: false });

    const alpha = parsePgUrl(urlFor("alpha"));
    const beta = parsePgUrl(urlFor("beta"));
    const whoami = await withPgClient(
      alpha,
      async (c) => (await c.query("SELECT current_user::text AS u, current_database()::text AS d")).rows[0],
    );
    expect(whoami).toEqual({ u: alpha.user, d: alpha.database });

    // beta's role on alpha's database: refused at connect time.
    await expect(withPgClient({ ...alpha, user: beta.user, password: beta.password }, async () => {})).rejects.toThrow(
      `permission denied for database "${alpha.database}"`,
    );
    const { rows } = await withPgClient(admin, (c) =>
      c.query("SELECT rolsuper, rolcreatedb, rolcreaterole, rolcanlogin FROM pg_roles WHERE rolname = $1", [alpha.user]),
    );
    expect(rows[0]).toEqual({ rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolcanlogin: true });
    const acl = await withPgClient(admin, (c) =>
      c.query("SELECT has_database_privilege('public', $1, 'CONNECT') AS public_can", [alpha.database]),
    );
    expect(acl.rows[0]).toEqual({ public_can: false });
  });
});
