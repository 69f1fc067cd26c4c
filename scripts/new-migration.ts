/**
 * `npm run db:migration -- <service> <name>`: writes a new migration for a service from the difference between
 * its migrations folder and its schema.prisma, then applies it to the development database.
 *
 * Why not `prisma migrate dev`: with the offline wasm schema engine it fails on every migration after the first
 * ("PostgreSQL shadow DB must be provided through an external factory"); `migrate diff --from-migrations` works
 * (see packages/db/src/prisma-config.ts, problem 6).
 */
import { mkdirSync, writeFileSync, existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runPrisma } from "@ecom/db";
import { loadToolEnv } from "../prisma/env.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

async function main(): Promise<void> {
  const [service, name, ...rest] = process.argv.slice(2);
  const createOnly = rest.includes("--create-only");
  if (!service || !name || !/^[a-z0-9_]+$/.test(name)) {
    throw new Error("usage: npm run db:migration -- <service> <snake_case_name> [--create-only]");
  }
  const dir = path.join(ROOT, "subgraphs", service);
  if (!existsSync(path.join(dir, "prisma", "schema.prisma"))) throw new Error(`no prisma/schema.prisma in subgraphs/${service}`);
  const env = loadToolEnv();
  const databaseUrl = env.databaseUrlFor(service);
  const out = await runPrisma(
    ["migrate", "diff", "--from-migrations", "prisma/migrations", "--to-schema-datamodel", "prisma/schema.prisma", "--script"],
    { cwd: dir, databaseUrl, adminUrl: env.POSTGRES_ADMIN_URL },
  );
  const sql = out
    .split("\n")
    .filter((l) => !l.startsWith("Loaded Prisma config") && !l.startsWith("Prisma config detected"))
    .join("\n")
    .trim();
  if (!sql || sql === "-- This is an empty migration.") {
    process.stdout.write(`${service}: schema.prisma matches the migrations; nothing to do\n`);
    return;
  }
  const stamp = new Date().toISOString().replace(/[-:T]/g, "").slice(0, 14);
  const folder = path.join(dir, "prisma", "migrations", `${stamp}_${name}`);
  mkdirSync(folder, { recursive: true });
  writeFileSync(path.join(folder, "migration.sql"), `${sql}\n`);
  process.stdout.write(`${service}: wrote ${path.relative(ROOT, folder)}/migration.sql\n`);
  if (!createOnly) {
    await runPrisma(["migrate", "deploy"], { cwd: dir, databaseUrl });
    process.stdout.write(`${service}: applied to ${service} development database\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
