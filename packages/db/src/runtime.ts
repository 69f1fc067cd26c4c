import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { parsePgUrl, redactPgUrl } from "./pg-connection.ts";

/** Options of {@link createPrismaAdapter}. */
export interface PrismaAdapterOptions {
  /**
   * Pool size: the most connections this process holds (and requests waiting beyond it queue, see
   * `connectionTimeoutMs`).
   * @default 10
   */
  max?: number;
  /**
   * Longest a statement may run: Postgres cancels it past this (SQLSTATE 57014), so one expensive query cannot hold
   * a connection (and the rows it builds) for ever. Migrations run through the Prisma CLI, not this pool.
   * @default 5000
   */
  statementTimeoutMs?: number;
  /**
   * Longest a transaction may sit idle (a crashed request holding locks): Postgres ends the session past this.
   * @default 10000
   */
  idleInTransactionTimeoutMs?: number;
  /**
   * Longest a request waits for a free connection of the pool before failing.
   * @default 5000
   */
  connectionTimeoutMs?: number;
  /**
   * Longest an interactive transaction (`prisma.$transaction(async (tx) => ...)`) may run, and wait for a
   * connection to start (Prisma's `transactionOptions`; a call may still pass its own).
   * @default 5000 (Prisma's default; used by createServiceDatabase only)
   */
  transactionTimeoutMs?: number;
  /** Receives each SQL statement the pool runs (tests count statements to prove batching). */
  onQuery?: (sql: string) => void;
  /** Name shown in `pg_stat_activity`. */
  applicationName?: string;
  /**
   * Receives errors of idle pool connections (the server restarted, the database was dropped...). The pool
   * replaces the broken connection by itself; without a listener such an error would crash the process.
   * @default ignore
   */
  onPoolError?: (error: Error) => void;
}

/**
 * The pg pool and Prisma driver adapter a service runs on. The pool is returned too: readiness checks and
 * shutdown use it.
 */
export function createPrismaAdapter(url: string, options: PrismaAdapterOptions = {}): { adapter: PrismaPg; pool: pg.Pool } {
  const pool = new pg.Pool({
    ...parsePgUrl(url),
    max: options.max ?? 10,
    application_name: options.applicationName,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5_000,
    idleTimeoutMillis: 30_000,
    // Sent as startup parameters: they hold for every statement of every connection of the pool.
    statement_timeout: options.statementTimeoutMs ?? 5_000,
    idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs ?? 10_000,
  });
  // Permanent: the Prisma adapter removes its own listener on $disconnect, while sockets may still be closing.
  pool.on("error", options.onPoolError ?? (() => {}));
  if (options.onQuery) {
    const onQuery = options.onQuery;
    pool.on("connect", (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
        const first = args[0];
        const text = typeof first === "string" ? first : (first as { text?: string } | undefined)?.text;
        if (text) onQuery(text);
        return query(...args);
      };
    });
  }
  return { adapter: new PrismaPg(pool), pool };
}

/** What {@link createServiceDatabase} needs of a generated Prisma client class: built on a driver adapter. */
export type PrismaClientClass<Client extends { $disconnect(): Promise<void> }> = new (options: {
  adapter: PrismaPg;
  transactionOptions?: { maxWait?: number; timeout?: number };
}) => Client;

/** A service's database: its Prisma client on a pg pool, with a readiness check and an orderly close. */
export interface PrismaDatabase<Client> {
  /** The service's own generated client (its models, its types). */
  prisma: Client;
  /** The pool under `prisma` (raw SQL, readiness). */
  pool: pg.Pool;
  /** Readiness: resolves when the database answers `SELECT 1`. */
  check: () => Promise<unknown>;
  /** Disconnects the client, then ends the pool (an error ending the pool is ignored: the process is stopping). */
  close: () => Promise<void>;
}

/**
 * A service's Prisma client on the pool of {@link createPrismaAdapter}: what every subgraph's
 * `src/datasources/prisma.ts` builds, typed with that subgraph's generated client.
 *
 * @example
 * import { PrismaClient } from "../generated/prisma/client.ts";
 * export const createDatabase = (url: string, options: PrismaAdapterOptions = {}) =>
 *   createServiceDatabase(PrismaClient, url, { applicationName: "orders", ...options });
 */
export function createServiceDatabase<Client extends { $disconnect(): Promise<void> }>(
  PrismaClient: PrismaClientClass<Client>,
  url: string,
  options: PrismaAdapterOptions = {},
): PrismaDatabase<Client> {
  const { adapter, pool } = createPrismaAdapter(url, options);
  const timeout = options.transactionTimeoutMs;
  const prisma = new PrismaClient({ adapter, ...(timeout ? { transactionOptions: { timeout, maxWait: timeout } } : {}) });
  return {
    prisma,
    pool,
    check: () => pool.query("SELECT 1"),
    close: async () => {
      await prisma.$disconnect();
      await pool.end().catch(() => {});
    },
  };
}

/**
 * What a seed (`subgraphs/<name>/src/seed.ts`) opens its database with: a small pool and a minute for each
 * transaction, statement and connection wait. Seeding runs while `npm start` boots every process at once; on a
 * loaded machine the runtime's 5 s limits (Prisma's default transaction timeout among them) failed the seed.
 */
export const SEED_DATABASE_OPTIONS = {
  max: 2,
  transactionTimeoutMs: 60_000,
  statementTimeoutMs: 60_000,
  connectionTimeoutMs: 60_000,
} as const satisfies PrismaAdapterOptions;

/**
 * Resolves when Postgres answers at `url` (connects and runs `SELECT 1` within `timeoutMs`); rejects otherwise with
 * a message naming the fix: how to start Postgres when nothing answers, the server's own reason (unknown role or
 * database, wrong password...) when it answers but refuses.
 */
export async function checkPostgres(url: string, timeoutMs = 3000): Promise<void> {
  const client = new pg.Client({ ...parsePgUrl(url), connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  try {
    await client.connect();
    await client.query("SELECT 1");
  } catch (error) {
    const reason = (error as Error).message || String(error);
    // A five-character SQLSTATE means the server answered: starting it again would not help.
    const sqlState = (error as { code?: unknown }).code;
    if (typeof sqlState === "string" && /^[0-9A-Z]{5}$/.test(sqlState)) {
      throw new Error(`Postgres at ${redactPgUrl(url)} refused the connection: ${reason} (SQLSTATE ${sqlState}).`, { cause: error });
    }
    throw new Error(
      `Postgres is not reachable at ${redactPgUrl(url)} (${reason}).\n` +
        `  Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n` +
        `  (or install it: apt-get install -y postgresql), or set POSTGRES_ADMIN_URL to a reachable server.`,
      { cause: error },
    );
  } finally {
    await client.end().catch(() => {});
  }
}

/** The database limits a subgraph's environment may set (`databaseEnv` of @ecom/config). */
export interface DatabaseLimitsEnv {
  DB_POOL_MAX?: number | undefined;
  DB_STATEMENT_TIMEOUT?: number | undefined;
}

/** {@link PrismaAdapterOptions} from `DB_POOL_MAX` and `DB_STATEMENT_TIMEOUT` (unset ones keep the defaults). */
export function databaseOptionsFromEnv(env: DatabaseLimitsEnv): Pick<PrismaAdapterOptions, "max" | "statementTimeoutMs"> {
  return {
    ...(env.DB_POOL_MAX === undefined ? {} : { max: env.DB_POOL_MAX }),
    ...(env.DB_STATEMENT_TIMEOUT === undefined ? {} : { statementTimeoutMs: env.DB_STATEMENT_TIMEOUT }),
  };
}
