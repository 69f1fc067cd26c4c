/**
 * The one Prisma CLI configuration every service's `prisma.config.ts` uses.
 *
 * Prisma 6.19's classic schema engine is a native binary the CLI downloads on first use, which fails on machines
 * without internet. With `engine: "js"` and a driver adapter the CLI runs the wasm schema engine instead, so
 * `prisma generate`, `migrate deploy|status|reset`, `migrate diff` and `db push` work offline. These problems stand
 * in the way, each fixed here once (also listed in the project's STACK notes):
 *
 * 1. prisma/orm#27403: the engine reads `pg_catalog` columns of types such as `name` that the adapter cannot map
 *    ("Column type 'name' could not be deserialized"): {@link CatalogAsTextClient} reports them as text.
 * 2. the adapter builds the shadow-database pool as `{ ...config, database }`, which a `connectionString` would
 *    override: connections are configured with separate fields ({@link parsePgUrl}).
 * 3. the adapter drops the shadow database while its own pool is still connected (the DROP fails): the shadow
 *    pool is closed first, then the database is dropped `WITH (FORCE)`.
 * 4. the wasm engine leaves 10 s and 60 s timers pending, so every CLI command lingers about a minute before it
 *    exits: long timers are unref'd (in the CLI process only: this file is loaded by the CLI alone) and pools
 *    use `allowExitOnIdle`.
 * 5. the adapter splits migration scripts on every `;`, even inside comments and function bodies: scripts are
 *    sent whole ({@link runScriptsWhole}).
 * 6. `migrate dev` works for the first migration only: for later ones the wasm engine's data-loss check fails
 *    with "PostgreSQL shadow DB must be provided through an external factory" (no fix on our side). New
 *    migrations are made with `migrate diff --from-migrations --to-schema-datamodel --script` instead, which
 *    does use the shadow database from this factory: `npm run db:migration -- <service> <name>`
 *    (scripts/new-migration.ts).
 */
import { randomUUID } from "node:crypto";
import { PrismaPg } from "@prisma/adapter-pg";
import { defineConfig } from "prisma/config";
import { CatalogAsTextClient, parsePgUrl, quoteIdent, withPgClient, type PgConnectionFields } from "./pg-connection.ts";

/** Options of {@link definePrismaServiceConfig}. */
export interface PrismaServiceConfigOptions {
  /**
   * Environment variable holding the service's database URL.
   * @default "DATABASE_URL"
   */
  urlEnv?: string;
  /**
   * Path of the schema file, relative to the service folder.
   * @default "prisma/schema.prisma"
   */
  schema?: string;
  /**
   * Path of the migrations folder, relative to the service folder.
   * @default "prisma/migrations"
   */
  migrations?: string;
}

type MigrationAwareFactory = Awaited<
  ReturnType<
    Parameters<typeof defineConfig>[0] extends infer C
      ? C extends { adapter: infer A }
        ? A extends () => infer R
          ? () => R
          : never
        : never
      : never
  >
>;

/** Problem 4: the CLI process must be able to exit once the engine is done. */
function unrefLongTimers(thresholdMs = 5_000): void {
  const marker = Symbol.for("ecom.prisma.unrefLongTimers");
  const g = globalThis as unknown as Record<symbol, boolean>;
  if (g[marker]) return;
  g[marker] = true;
  const original = globalThis.setTimeout;
  const patched = ((handler: (...args: unknown[]) => void, timeout?: number, ...args: unknown[]) => {
    const timer = original(handler, timeout, ...args);
    if ((timeout ?? 0) >= thresholdMs) timer.unref();
    return timer;
  }) as typeof setTimeout;
  globalThis.setTimeout = Object.assign(patched, original);
}

/**
 * Problem 5: the adapter's `executeScript` splits migration files on every `;`, including those inside comments,
 * string literals and function bodies, and sends the pieces one by one. The whole file goes to Postgres as one
 * simple-protocol query instead, which also makes each migration file atomic (an implicit transaction).
 */
function runScriptsWhole<T extends object>(adapter: T): T {
  const a = adapter as unknown as {
    executeScript(script: string): Promise<void>;
    underlyingDriver(): { query(sql: string): Promise<unknown> };
    onError(error: unknown): never;
  };
  a.executeScript = async (script: string) => {
    try {
      await a.underlyingDriver().query(script);
    } catch (error) {
      a.onError(error);
    }
  };
  return adapter;
}

/**
 * When the engine fails mid-command it never disposes the shadow adapter, so its database stays behind. Shadow
 * databases carry their creation time; any older than ten minutes belongs to a command long finished.
 */
async function dropStaleShadowDatabases(c: { query(sql: string): Promise<{ rows: Array<{ datname: string }> }> }): Promise<void> {
  const { rows } = await c.query("SELECT datname::text AS datname FROM pg_database WHERE datname LIKE 'prisma\\_shadow\\_%'");
  for (const { datname } of rows) {
    const created = parseInt(/^prisma_shadow_([0-9a-z]+)_/.exec(datname)?.[1] ?? "", 36);
    // Names without a time (older helper versions) count as stale.
    if (Number.isNaN(created) || Date.now() - created > 10 * 60_000) {
      await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(datname)} WITH (FORCE)`);
    }
  }
}

function poolConfig(fields: PgConnectionFields) {
  return { ...fields, Client: CatalogAsTextClient, allowExitOnIdle: true, max: 4 };
}

/**
 * A migration-aware adapter factory for the CLI. The shadow database (used by `migrate dev` and `migrate diff`)
 * is created and dropped through the admin connection, because service roles may not create databases.
 */
function createCliAdapterFactory(url: string, adminUrl: string): MigrationAwareFactory {
  const fields = parsePgUrl(url);
  const admin = parsePgUrl(adminUrl);
  const main = new PrismaPg(poolConfig(fields));
  return {
    provider: main.provider,
    adapterName: main.adapterName,
    connect: async () => runScriptsWhole(await main.connect()),
    async connectToShadowDb() {
      const database = `prisma_shadow_${Date.now().toString(36)}_${randomUUID().slice(0, 8)}`;
      await withPgClient(admin, async (c) => {
        await dropStaleShadowDatabases(c);
        await c.query(`CREATE DATABASE ${quoteIdent(database)} OWNER ${quoteIdent(fields.user)}`);
      });
      const adapter = runScriptsWhole(await new PrismaPg(poolConfig({ ...fields, database })).connect());
      const dispose = adapter.dispose.bind(adapter);
      // Problem 3: close our pool before dropping, and force out any connection the engine still holds.
      adapter.dispose = async () => {
        await dispose();
        await withPgClient(admin, (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`));
      };
      return adapter;
    },
  } as MigrationAwareFactory;
}

/**
 * Prisma CLI configuration for one service. Use in `subgraphs/<domain>/prisma.config.ts`:
 * `export default definePrismaServiceConfig();`
 *
 * The URL variable must be set even for `prisma generate`: unset, Prisma falls back to the classic engine and
 * tries to download it. A placeholder is used when it is missing so that `generate` works on a fresh clone.
 */
export function definePrismaServiceConfig(options: PrismaServiceConfigOptions = {}): ReturnType<typeof defineConfig> {
  unrefLongTimers();
  const urlEnv = options.urlEnv ?? "DATABASE_URL";
  // The CLI config is tooling, not a deployable: it reads its two variables directly (documented in README).
  process.env[urlEnv] ??= "postgres://postgres@127.0.0.1:5432/prisma_generate_placeholder";
  const url = process.env[urlEnv]!;
  const adminUrl = process.env["POSTGRES_ADMIN_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres";
  return defineConfig({
    experimental: { adapter: true },
    engine: "js",
    schema: options.schema ?? "prisma/schema.prisma",
    migrations: { path: options.migrations ?? "prisma/migrations" },
    adapter: async () => createCliAdapterFactory(url, adminUrl),
  });
}
