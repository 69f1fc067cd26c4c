import pg from "pg";

/** Connection settings as separate fields, the form every pool in this package is built from. */
export interface PgConnectionFields {
  host: string;
  port: number;
  user: string;
  password?: string | undefined;
  database: string;
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
  return {
    host: decodeURIComponent(parsed.hostname) || "127.0.0.1",
    port: parsed.port ? Number(parsed.port) : 5432,
    user: decodeURIComponent(parsed.username) || "postgres",
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    database: decodeURIComponent(parsed.pathname.replace(/^\//, "")) || "postgres",
  };
}

/** Builds a `postgres://` URL from fields. */
export function formatPgUrl(fields: PgConnectionFields): string {
  const auth = fields.password
    ? `${encodeURIComponent(fields.user)}:${encodeURIComponent(fields.password)}`
    : encodeURIComponent(fields.user);
  return `postgres://${auth}@${fields.host}:${fields.port}/${encodeURIComponent(fields.database)}`;
}

/** Returns the URL with its password replaced by `***`, safe to log. */
export function redactPgUrl(url: string): string {
  return url.replace(/(postgres(?:ql)?:\/\/[^:/@]+:)[^@]*@/, "$1***@");
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

function retypeCatalogColumns<T>(result: T): T {
  const results = Array.isArray(result) ? result : [result];
  for (const r of results as Array<{ fields?: Array<{ dataTypeID: number }> } | undefined>) {
    for (const field of r?.fields ?? []) {
      const asText = CATALOG_TYPES_AS_TEXT.get(field.dataTypeID);
      if (asText !== undefined) field.dataTypeID = asText;
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

/** Runs one statement on a short-lived connection and closes it. */
export async function withPgClient<T>(
  fields: PgConnectionFields,
  fn: (client: pg.Client) => Promise<T>,
  opts: { connectTimeoutMs?: number } = {},
): Promise<T> {
  const client = new pg.Client({ ...fields, connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000 });
  await client.connect();
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
