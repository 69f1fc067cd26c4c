import pg from "pg";

/** Connection settings as separate fields, the form every pool in this package is built from. */
export interface PgConnectionFields {
  host: string;
  port: number;
  user: string;
  password?: string | undefined;
  database: string;
  /**
   * TLS, from the URL's `sslmode`: `false` for `disable`, `{ rejectUnauthorized: false }` for `no-verify`, `true`
   * (verified) for `prefer`, `require`, `verify-ca` and `verify-full` (node-postgres's reading of them).
   * Absent when the URL has no `sslmode` (node-postgres's default: no TLS).
   */
  ssl?: boolean | { rejectUnauthorized: boolean } | undefined;
}

function sslFromMode(mode: string | null, url: string): PgConnectionFields["ssl"] {
  switch (mode) {
    case null:
      return undefined;
    case "disable":
      return false;
    case "no-verify":
      return { rejectUnauthorized: false };
    case "prefer":
    case "require":
    case "verify-ca":
    case "verify-full":
      return true;
    default:
      throw new Error(`Unknown sslmode "${mode}" in ${redactPgUrl(url)}`);
  }
}

function sslModeOf(ssl: PgConnectionFields["ssl"]): string | undefined {
  if (ssl === undefined) return undefined;
  if (ssl === false) return "disable";
  if (ssl === true) return "verify-full";
  return ssl.rejectUnauthorized ? "verify-full" : "no-verify";
}

/**
 * Splits a `postgres://` URL into separate fields.
 *
 * Why: `@prisma/adapter-pg` builds its shadow-database pool as `{ ...config, database }`; with a
 * `connectionString` in the config, pg lets the URL win and the shadow connection silently keeps the main
 * database (STACK.md, problem 2). Separate fields let `database` be replaced.
 */
export function parsePgUrl(url: string): PgConnectionFields {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`Not a valid Postgres URL: ${redactPgUrl(url)}`);
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new Error(`Not a Postgres URL (expected postgres://): ${redactPgUrl(url)}`);
  }
  const ssl = sslFromMode(parsed.searchParams.get("sslmode"), url);
  return {
    // IPv6 literals come bracketed in URLs (`[::1]`); sockets want them bare.
    host: decodeURIComponent(parsed.hostname).replace(/^\[(.*)\]$/, "$1") || "127.0.0.1",
    port: parsed.port ? Number(parsed.port) : 5432,
    user: decodeURIComponent(parsed.username) || "postgres",
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    database: decodeURIComponent(parsed.pathname.replace(/^\//, "")) || "postgres",
    ...(ssl !== undefined ? { ssl } : {}),
  };
}

/** Builds a `postgres://` URL from fields (the inverse of {@link parsePgUrl}). */
export function formatPgUrl(fields: PgConnectionFields): string {
  const auth = fields.password
    ? `${encodeURIComponent(fields.user)}:${encodeURIComponent(fields.password)}`
    : encodeURIComponent(fields.user);
  const host = fields.host.includes(":") ? `[${fields.host}]` : fields.host;
  const sslmode = sslModeOf(fields.ssl);
  return `postgres://${auth}@${host}:${fields.port}/${encodeURIComponent(fields.database)}${sslmode ? `?sslmode=${sslmode}` : ""}`;
}

/** Returns the URL with its password replaced by `***`, safe to log (also when the password holds an `@`). */
export function redactPgUrl(url: string): string {
  // Up to the last `@`: a password may hold `@` or `/` unencoded (by mistake). Over-redacting a URL that has an
  // `@` in its query string is harmless; leaking part of a password is not.
  // Any scheme: a mistyped `postgress://` or a `mysql://` URL must not print its password in the error either.
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:).*@/i, "$1***@");
}

/**
 * Postgres catalog types the Prisma driver adapter cannot map to a column type (prisma/orm#27403): the wasm
 * schema engine introspects `pg_catalog` and dies with "Column type 'name' could not be deserialized".
 * Their text representation is all the engine needs, so results report them as text (25) / text[] (1009).
 */
const CATALOG_TYPES_AS_TEXT = new Map<number, number>([
  [18, 25], // char
  [19, 25], // name
  [22, 25], // int2vector
  [24, 25], // regproc
  [30, 25], // oidvector
  [194, 25], // pg_node_tree
  [2205, 25], // regclass
  [2206, 25], // regtype
  [1002, 1009], // char[]
  [1003, 1009], // name[]
]);

const TEXT_ARRAY = 1009;

interface RawResult {
  fields?: Array<{ name: string; dataTypeID: number }>;
  rows?: Array<Record<string, unknown> | unknown[]>;
}

function retypeCatalogColumns<T>(result: T): T {
  // Multi-statement queries resolve with one result per statement.
  const results = Array.isArray(result) ? result : [result];
  for (const r of results as Array<RawResult | undefined>) {
    const fields = r?.fields ?? [];
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i]!;
      const asText = CATALOG_TYPES_AS_TEXT.get(field.dataTypeID);
      if (asText === undefined) continue;
      field.dataTypeID = asText;
      // pg has no parser for char[]/name[]: their values are still the literal `{a,b}`. A column now announced as
      // text[] must hold arrays, so parse them the way pg parses text[].
      if (asText === TEXT_ARRAY) {
        const parse = (pg.types.getTypeParser as (oid: number, format: "text") => (value: string) => unknown)(TEXT_ARRAY, "text");
        for (const row of r?.rows ?? []) {
          const key = Array.isArray(row) ? i : field.name;
          const value = (row as Record<string | number, unknown>)[key];
          if (typeof value === "string") (row as Record<string | number, unknown>)[key] = parse(value);
        }
      }
    }
  }
  return result;
}

type QueryCallback = (err: Error | null, result: unknown) => void;

/**
 * A pg Client whose results report catalog types as text. Used only by the Prisma CLI's schema engine
 * (migrations, introspection); runtime clients never read catalog columns.
 */
export class CatalogAsTextClient extends pg.Client {
  // pg's query() has many overloads (promise, callback, submittable); this forwards all of them unchanged
  // and only rewrites the field metadata of results.
  override query(...args: unknown[]): never {
    const last = args[args.length - 1];
    if (typeof last === "function") {
      const callback = last as QueryCallback;
      args[args.length - 1] = (err: Error | null, result: unknown) => callback(err, err ? result : retypeCatalogColumns(result));
      return (super.query as (...a: unknown[]) => never)(...args);
    }
    const out = (super.query as (...a: unknown[]) => unknown)(...args);
    if (out && typeof (out as Promise<unknown>).then === "function") {
      return (out as Promise<unknown>).then(retypeCatalogColumns) as never;
    }
    return out as never;
  }
}

/** Runs `fn` on a short-lived connection and closes it, also when connecting or `fn` fails. */
export async function withPgClient<T>(
  fields: PgConnectionFields,
  fn: (client: pg.Client) => Promise<T>,
  opts: { connectTimeoutMs?: number } = {},
): Promise<T> {
  const client = new pg.Client({ ...fields, connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000 });
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Quotes an SQL identifier (database or role name). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes an SQL string literal. */
export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
