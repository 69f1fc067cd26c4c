import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { parsePgUrl, redactPgUrl } from "./pg-connection.ts";

/** Options of {@link createPrismaAdapter}. */
export interface PrismaAdapterOptions {
  /**
   * Pool size.
   * @default 10
   */
  max?: number;
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
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
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
      throw new Error(`Postgres at ${redactPgUrl(url)} refused the connection: ${reason} (SQLSTATE ${sqlState}).`);
    }
    throw new Error(
      `Postgres is not reachable at ${redactPgUrl(url)} (${reason}).\n` +
        `  Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n` +
        `  (or install it: apt-get install -y postgresql), or set POSTGRES_ADMIN_URL to a reachable server.`,
    );
  } finally {
    await client.end().catch(() => {});
  }
}
