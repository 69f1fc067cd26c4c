/**
 * Telling "the database cannot be reached right now" apart from every other database error, so a subgraph can
 * answer it as a retryable outage (HTTP 503) instead of an internal error carrying Prisma's text.
 *
 * The shapes below were observed with Prisma 6.19 (query compiler) on @prisma/adapter-pg and pg 8, stopping and
 * starting a real Postgres under load (tests/e2e/dependency-outage.e2e.test.ts):
 * - no server listening: `PrismaClientKnownRequestError` P1001 "Can't reach database server" (the adapter maps
 *   ECONNREFUSED / ENOTFOUND to `DatabaseNotReachable`); the pool's own `SELECT 1` gets the bare socket error;
 * - a statement running when the server stops: P2010 "Raw query failed. Code: `57P01`" (admin_shutdown), with the
 *   driver error in `meta.driverAdapterError.cause`;
 * - an interactive transaction whose connection died: pg's "Client has encountered a connection error and is not
 *   queryable" or "Connection terminated unexpectedly" (not wrapped by Prisma);
 * - a pool that cannot get a connection in time: pg-pool's "timeout exceeded when trying to connect".
 */

/** Prisma error codes that mean the database is unreachable, overloaded or timing out (all worth a retry later). */
const PRISMA_OUTAGE_CODES: ReadonlySet<string> = new Set([
  "P1001", // can't reach database server
  "P1002", // server reached but timed out
  "P1008", // operations timed out (socket timeout)
  "P1017", // server has closed the connection
  "P2024", // timed out fetching a new connection from the pool
  "P2037", // too many database connections opened
]);

/** Driver-adapter error kinds (`meta.driverAdapterError.cause.kind`) of the same family. */
const ADAPTER_OUTAGE_KINDS: ReadonlySet<string> = new Set([
  "DatabaseNotReachable",
  "ConnectionClosed",
  "SocketTimeout",
  "TooManyConnections",
]);

/**
 * SQLSTATEs of an unavailable server: class 08 (connection exception), 53 (insufficient resources: too many
 * connections, out of memory or disk), 57P01..57P05 (shut down by an administrator, crash, starting up, idle
 * session timeout...). Not 57014 (query_canceled: a statement timeout is the caller's problem, not an outage).
 */
const isOutageSqlState = (code: string) => /^(08|53)[0-9A-Z]{3}$/.test(code) || /^57P0[1-5]$/.test(code);

/** Socket errors of a connection that could not be made or was cut. */
const SOCKET_OUTAGE_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/** pg and pg-pool errors that carry no code. */
const PG_OUTAGE_MESSAGES = [
  "Connection terminated unexpectedly",
  "Connection terminated",
  "Client has encountered a connection error and is not queryable",
  "timeout exceeded when trying to connect",
  "Client was closed and is not queryable",
];

type Shape = { name?: unknown; code?: unknown; message?: unknown; meta?: unknown; cause?: unknown; errorCode?: unknown };

function driverCause(meta: unknown): { kind?: unknown; code?: unknown; originalCode?: unknown } | undefined {
  const adapterError = (meta as { driverAdapterError?: { cause?: unknown } } | undefined)?.driverAdapterError;
  const cause = adapterError?.cause;
  return typeof cause === "object" && cause !== null ? (cause as { kind?: unknown; code?: unknown; originalCode?: unknown }) : undefined;
}

function reasonOf(error: Shape): string | undefined {
  const code = typeof error.code === "string" ? error.code : undefined;
  const name = typeof error.name === "string" ? error.name : "";
  if (name.startsWith("PrismaClient")) {
    const prismaCode = code ?? (typeof error.errorCode === "string" ? error.errorCode : undefined);
    if (prismaCode && PRISMA_OUTAGE_CODES.has(prismaCode)) return `prisma ${prismaCode}`;
    const cause = driverCause(error.meta);
    if (typeof cause?.kind === "string" && ADAPTER_OUTAGE_KINDS.has(cause.kind)) return cause.kind;
    const sqlState =
      typeof cause?.originalCode === "string" ? cause.originalCode : typeof cause?.code === "string" ? cause.code : undefined;
    if (sqlState && isOutageSqlState(sqlState)) return `SQLSTATE ${sqlState}`;
    // PrismaClientInitializationError when the first connection fails.
    if (name === "PrismaClientInitializationError") return "prisma initialization";
    return undefined;
  }
  if (code && SOCKET_OUTAGE_CODES.has(code)) return code;
  if (code && isOutageSqlState(code) && typeof (error as { severity?: unknown }).severity === "string") return `SQLSTATE ${code}`;
  const message = typeof error.message === "string" ? error.message : "";
  if (PG_OUTAGE_MESSAGES.some((m) => message.startsWith(m))) return message;
  return undefined;
}

/**
 * Why `error` means Postgres is unavailable right now (unreachable, shutting down, out of connections, timing out
 * on connect), or undefined for any other error (a constraint violation, a bad query, a bug). Looks through
 * `cause` chains (and GraphQL's `originalError`) a few levels deep.
 */
export function postgresOutageReason(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth++) {
    const reason = reasonOf(current as Shape);
    if (reason) return reason;
    const next = current as { originalError?: unknown; cause?: unknown };
    current = next.originalError ?? next.cause;
  }
  return undefined;
}
