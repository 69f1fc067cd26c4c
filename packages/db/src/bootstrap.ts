/**
 * Database bootstrap: one database and one least-privilege role per service, then the service's migrations.
 * Idempotent: safe to run on every start. The service's own database URL is the single source of truth: its
 * user, password and database name are what gets created.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { parsePgUrl, quoteIdent, quoteLiteral, withPgClient, type PgConnectionFields } from "./pg-connection.ts";

/** A service that owns a Prisma schema. */
export interface ServiceDatabase {
  /** Service name, e.g. `orders`. */
  name: string;
  /** Folder holding `prisma/schema.prisma` and `prisma.config.ts`. */
  dir: string;
}

/** Finds every `subgraphs/<name>/prisma/schema.prisma` under `rootDir` (new services are picked up as added). */
export function discoverServiceDatabases(rootDir: string): ServiceDatabase[] {
  const base = path.join(rootDir, "subgraphs");
  if (!existsSync(base)) return [];
  return readdirSync(base, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(base, d.name, "prisma", "schema.prisma")))
    .map((d) => ({ name: d.name, dir: path.join(base, d.name) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** What {@link ensureServiceDatabase} did. */
export interface EnsureResult {
  createdRole: boolean;
  createdDatabase: boolean;
}

/**
 * Creates the service's role (LOGIN, no superuser, no CREATEDB, no CREATEROLE) and database (owned by that
 * role) when missing, and makes the database private: PUBLIC loses CONNECT, so other service roles cannot even
 * connect to it. Re-running resets the password to the one in the URL.
 */
export async function ensureServiceDatabase(admin: PgConnectionFields, serviceUrl: string): Promise<EnsureResult> {
  const svc = parsePgUrl(serviceUrl);
  return withPgClient(admin, async (c) => {
    const role = quoteIdent(svc.user);
    const db = quoteIdent(svc.database);
    const password = svc.password ? ` PASSWORD ${quoteLiteral(svc.password)}` : "";
    const roleExists = (await c.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [svc.user])).rowCount === 1;
    if (roleExists) await c.query(`ALTER ROLE ${role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE${password}`);
    else {
      try {
        await c.query(`CREATE ROLE ${role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE${password}`);
      } catch (error) {
        // Two bootstraps racing (parallel test workers): the other one created it.
        if ((error as { code?: string }).code !== "42710") throw error;
      }
    }
    const dbExists = (await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [svc.database])).rowCount === 1;
    if (!dbExists) {
      try {
        await c.query(`CREATE DATABASE ${db} OWNER ${role}`);
      } catch (error) {
        if ((error as { code?: string }).code !== "42P04") throw error;
      }
    }
    await c.query(`REVOKE ALL ON DATABASE ${db} FROM PUBLIC`);
    await c.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${db} TO ${role}`);
    return { createdRole: !roleExists, createdDatabase: !dbExists };
  });
}

/**
 * Drops a service database and its role (tests and `db:reset`). Connections are forced out.
 */
export async function dropServiceDatabase(admin: PgConnectionFields, serviceUrl: string): Promise<void> {
  const svc = parsePgUrl(serviceUrl);
  await withPgClient(admin, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(svc.database)} WITH (FORCE)`);
    await c.query(`DROP ROLE IF EXISTS ${quoteIdent(svc.user)}`);
  });
}

const require = createRequire(import.meta.url);

/** Path of the Prisma CLI's entry point. */
export function prismaCliPath(): string {
  return require.resolve("prisma/build/index.js");
}

/** Options of {@link runPrisma}. */
export interface RunPrismaOptions {
  /** The service folder (holds `prisma.config.ts`). */
  cwd: string;
  /** Value of `DATABASE_URL` for the command. */
  databaseUrl: string;
  /** Admin URL for shadow databases (`migrate dev`). */
  adminUrl?: string;
  /** Extra environment. */
  env?: Record<string, string>;
}

/** Runs a Prisma CLI command (e.g. `["migrate", "deploy"]`) for one service; rejects with its output on failure. */
export function runPrisma(args: string[], options: RunPrismaOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [prismaCliPath(), ...args], {
      cwd: options.cwd,
      env: {
        // eslint-disable-next-line no-restricted-properties -- the CLI inherits this process's environment (PATH, HOME...)
        ...process.env,
        ...options.env,
        DATABASE_URL: options.databaseUrl,
        ...(options.adminUrl ? { POSTGRES_ADMIN_URL: options.adminUrl } : {}),
        PRISMA_HIDE_UPDATE_MESSAGE: "1",
        CHECKPOINT_DISABLE: "1",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`prisma ${args.join(" ")} failed in ${options.cwd} (exit ${code}):\n${output}`));
    });
  });
}

/** Applies a service's pending migrations (`prisma migrate deploy`). */
export function migrateService(service: ServiceDatabase, databaseUrl: string): Promise<string> {
  return runPrisma(["migrate", "deploy"], { cwd: service.dir, databaseUrl });
}

/** Options of {@link bootstrapDatabases}. */
export interface BootstrapOptions {
  /** A superuser (or CREATEROLE + CREATEDB) connection. */
  adminUrl: string;
  services: ServiceDatabase[];
  /** The database URL of each service. */
  urlFor: (service: string) => string;
  /** Progress lines, e.g. `users: migrated`. */
  onProgress?: (line: string) => void;
}

/** Creates missing databases and roles, then migrates every service (in parallel). Idempotent. */
export async function bootstrapDatabases(options: BootstrapOptions): Promise<void> {
  const admin = parsePgUrl(options.adminUrl);
  // Roles and databases one at a time: CREATE DATABASE takes a cluster-wide lock anyway.
  for (const service of options.services) {
    const result = await ensureServiceDatabase(admin, options.urlFor(service.name));
    options.onProgress?.(
      `${service.name}: database ${result.createdDatabase ? "created" : "exists"}, role ${result.createdRole ? "created" : "exists"}`,
    );
  }
  await Promise.all(
    options.services.map(async (service) => {
      const out = await migrateService(service, options.urlFor(service.name));
      const applied = /(\d+) migrations? found/.exec(out)?.[1];
      options.onProgress?.(`${service.name}: migrations applied${applied ? ` (${applied} in folder)` : ""}`);
    }),
  );
}
