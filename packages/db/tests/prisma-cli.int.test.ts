import { mkdtempSync, mkdirSync, rmSync, writeFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { dropServiceDatabase, ensureServiceDatabase, parsePgUrl, runPrisma, withPgClient } from "@ecom/db";

const ROOT = path.resolve(import.meta.dirname, "../../..");

/**
 * The offline Prisma CLI through definePrismaServiceConfig, on a throwaway service folder: the fixes in
 * prisma-config.ts are what make these commands work on a machine without engine downloads.
 */
describe("Prisma CLI with the shared offline configuration", () => {
  const run = inject("testRun");
  const dir = mkdtempSync(path.join(tmpdir(), "ecom-prisma-cli-"));
  const db = `${run.prefix}_clisvc`;
  const url = `postgres://${db}:${db}@${parsePgUrl(run.adminUrl).host}:${parsePgUrl(run.adminUrl).port}/${db}`;
  const admin = parsePgUrl(run.adminUrl);

  symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
  writeFileSync(
    path.join(dir, "prisma.config.ts"),
    'import { definePrismaServiceConfig } from "@ecom/db/prisma-config";\nexport default definePrismaServiceConfig();\n',
  );
  mkdirSync(path.join(dir, "prisma"));
  const schema = (extra: string) =>
    [
      'generator client {\n  provider = "prisma-client"\n  output = "../generated"\n  engineType = "client"\n  runtime = "nodejs"\n  moduleFormat = "esm"\n}',
      'datasource db {\n  provider = "postgresql"\n  url = env("DATABASE_URL")\n}',
      `model Widget {\n  id Int @id @default(autoincrement())\n  name String\n${extra}}`,
    ].join("\n\n");
  writeFileSync(path.join(dir, "prisma", "schema.prisma"), schema(""));
  const cli = (args: string[]) => runPrisma(args, { cwd: dir, databaseUrl: url, adminUrl: run.adminUrl });

  afterAll(async () => {
    await dropServiceDatabase(admin, url);
    rmSync(dir, { recursive: true, force: true });
  });

  it("generates a client without downloading an engine", async () => {
    const out = await cli(["generate"]);
    expect(out).toMatch(/Generated Prisma Client/);
  });

  it("applies migrations whose SQL has semicolons in comments and function bodies, then reports them applied", async () => {
    await ensureServiceDatabase(admin, url);
    const m1 = path.join(dir, "prisma", "migrations", "20260101000000_init");
    mkdirSync(m1, { recursive: true });
    writeFileSync(path.join(dir, "prisma", "migrations", "migration_lock.toml"), 'provider = "postgresql"\n');
    writeFileSync(
      path.join(m1, "migration.sql"),
      [
        "-- Widgets; the first table (a semicolon in a comment used to split this file)",
        'CREATE TABLE "Widget" ("id" SERIAL NOT NULL, "name" TEXT NOT NULL, CONSTRAINT "Widget_pkey" PRIMARY KEY ("id"));',
        'CREATE FUNCTION widget_count() RETURNS bigint AS $$ BEGIN RETURN (SELECT count(*) FROM "Widget"); END $$ LANGUAGE plpgsql;',
      ].join("\n"),
    );
    const started = Date.now();
    await cli(["migrate", "deploy"]);
    // Problem 4: without unref'd timers the CLI lingers ~60 s after finishing.
    expect(Date.now() - started).toBeLessThan(30_000);
    const status = await cli(["migrate", "status"]);
    expect(status).toMatch(/Database schema is up to date/);
    const count = await withPgClient(parsePgUrl(url), (c) => c.query("SELECT widget_count()::int AS n"));
    expect(count.rows[0].n).toBe(0);
  });

  it("diffs the migrations against a changed schema through a shadow database, and drops the shadow afterwards", async () => {
    writeFileSync(path.join(dir, "prisma", "schema.prisma"), schema("  color String?\n"));
    const out = await cli([
      "migrate",
      "diff",
      "--from-migrations",
      "prisma/migrations",
      "--to-schema-datamodel",
      "prisma/schema.prisma",
      "--script",
    ]);
    expect(out).toMatch(/ALTER TABLE "Widget" ADD COLUMN\s+"color" TEXT/);
    // The shadow database is created owned by the service role: none of those may be left.
    const leftover = await withPgClient(admin, (c) =>
      c.query("SELECT datname::text FROM pg_database WHERE datname LIKE 'prisma\\_shadow\\_%' AND pg_get_userbyid(datdba) = $1", [db]),
    );
    expect(leftover.rows).toEqual([]);
  });
});
