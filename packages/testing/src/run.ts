/**
 * One test run's isolated resources: its own Postgres databases and roles (name prefix `ecom_t<time><rand>`)
 * and its own Redis key prefix, so runs never see each other's data or leftovers.
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import {
  bootstrapDatabases,
  checkPostgres,
  databaseUrlFor,
  discoverServiceDatabases,
  dropServiceDatabase,
  parsePgUrl,
  quoteIdent,
  withPgClient,
} from "@ecom/db";

/** What every test of the run gets (through vitest's `inject("testRun")`). */
export interface TestRunInfo {
  /** e.g. `ecom_tm3k2x9a1b2c`; prefix of database and role names. */
  prefix: string;
  /** Superuser URL of the test Postgres. */
  adminUrl: string;
  /** Redis URL. */
  redisUrl: string;
  /** Prefix for every Redis key (and BullMQ queue prefix) of this run. */
  redisPrefix: string;
  /** Services whose databases were bootstrapped and migrated. */
  services: string[];
  /** Repository root. */
  rootDir: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    testRun: TestRunInfo;
  }
}

/** Repository root (this file is packages/testing/src/run.ts). */
export const ROOT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

const RUN_PREFIX_PATTERN = /^ecom_t([0-9a-z]{8,9})[0-9a-f]{4}(_|$)/;
/** Runs older than this are considered crashed and their leftovers dropped by the next run. */
const STALE_AFTER_MS = 3 * 60 * 60 * 1000;

/** A new run prefix: base-36 start time (to find stale leftovers) plus randomness. */
export function newRunPrefix(now = Date.now()): string {
  return `ecom_t${now.toString(36).padStart(9, "0")}${randomBytes(2).toString("hex")}`;
}

/** The database URL of `service` in this run (role and database `<prefix>_<service>`). */
export function runDatabaseUrl(run: Pick<TestRunInfo, "prefix" | "adminUrl">, service: string): string {
  const admin = parsePgUrl(run.adminUrl);
  return databaseUrlFor(service, { prefix: run.prefix, host: admin.host, port: admin.port });
}

/** Drops databases and roles left by test runs that crashed more than 3 hours ago. */
export async function dropStaleRuns(adminUrl: string, now = Date.now()): Promise<string[]> {
  const dropped: string[] = [];
  await withPgClient(parsePgUrl(adminUrl), async (c) => {
    const isStale = (name: string) => {
      const m = RUN_PREFIX_PATTERN.exec(name);
      return m !== null && now - parseInt(m[1]!, 36) > STALE_AFTER_MS;
    };
    const dbs = await c.query<{ datname: string }>("SELECT datname::text FROM pg_database WHERE datname LIKE 'ecom\\_t%'");
    for (const { datname } of dbs.rows.filter((r) => isStale(r.datname))) {
      await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(datname)} WITH (FORCE)`);
      dropped.push(datname);
    }
    const roles = await c.query<{ rolname: string }>("SELECT rolname::text FROM pg_roles WHERE rolname LIKE 'ecom\\_t%'");
    for (const { rolname } of roles.rows.filter((r) => isStale(r.rolname))) {
      await c.query(`DROP ROLE IF EXISTS ${quoteIdent(rolname)}`).catch(() => {});
    }
  });
  return dropped;
}

/** Options of {@link setupTestRun}. */
export interface SetupTestRunOptions {
  adminUrl: string;
  redisUrl: string;
  onProgress?: (line: string) => void;
}

/** Creates and migrates every service database of a new run. */
export async function setupTestRun(options: SetupTestRunOptions): Promise<TestRunInfo> {
  await checkPostgres(options.adminUrl);
  await dropStaleRuns(options.adminUrl);
  const prefix = newRunPrefix();
  const services = discoverServiceDatabases(ROOT_DIR);
  const run = { prefix, adminUrl: options.adminUrl };
  await bootstrapDatabases({
    adminUrl: options.adminUrl,
    services,
    urlFor: (name) => runDatabaseUrl(run, name),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  return {
    prefix,
    adminUrl: options.adminUrl,
    redisUrl: options.redisUrl,
    redisPrefix: `${prefix}:`,
    services: services.map((s) => s.name),
    rootDir: ROOT_DIR,
  };
}

/** Drops everything the run created: databases (including clones), roles, Redis keys. */
export async function teardownTestRun(run: TestRunInfo): Promise<void> {
  await withPgClient(parsePgUrl(run.adminUrl), async (c) => {
    const like = `${run.prefix.replace(/_/g, "\\_")}%`;
    const dbs = await c.query<{ datname: string }>("SELECT datname::text FROM pg_database WHERE datname LIKE $1", [like]);
    for (const { datname } of dbs.rows) await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(datname)} WITH (FORCE)`);
  });
  for (const service of run.services) await dropServiceDatabase(parsePgUrl(run.adminUrl), runDatabaseUrl(run, service));
  // Roles made by tests under the run prefix (e.g. a full `npm start` under `<prefix>_start`).
  await withPgClient(parsePgUrl(run.adminUrl), async (c) => {
    const roles = await c.query<{ rolname: string }>("SELECT rolname::text FROM pg_roles WHERE rolname LIKE $1", [
      `${run.prefix.replace(/_/g, "\\_")}%`,
    ]);
    for (const { rolname } of roles.rows) await c.query(`DROP ROLE IF EXISTS ${quoteIdent(rolname)}`);
  });
  await deleteRedisKeys(run.redisUrl, run.redisPrefix);
}

/** Deletes every Redis key starting with `prefix` (SCAN, never KEYS). */
export async function deleteRedisKeys(redisUrl: string, prefix: string): Promise<number> {
  const { Redis } = await import("ioredis");
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = "0";
    let deleted = 0;
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix.replace(/([*?[\]\\])/g, "\\$1")}*`, "COUNT", 500);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== "0");
    return deleted;
  } finally {
    redis.disconnect();
  }
}

export { pg };
