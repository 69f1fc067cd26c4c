export { parsePgUrl, formatPgUrl, redactPgUrl, quoteIdent, quoteLiteral, withPgClient, CatalogAsTextClient } from "./pg-connection.ts";
export type { PgConnectionFields } from "./pg-connection.ts";
export {
  discoverServiceDatabases,
  databaseUrlFor,
  ensureServiceDatabase,
  dropServiceDatabase,
  migrateService,
  runPrisma,
  prismaCliPath,
  bootstrapDatabases,
} from "./bootstrap.ts";
export type { ServiceDatabase, DatabaseUrlOptions, EnsureResult, RunPrismaOptions, BootstrapOptions } from "./bootstrap.ts";
export { createPrismaAdapter, createServiceDatabase, checkPostgres } from "./runtime.ts";
export type { PrismaAdapterOptions, PrismaClientClass, PrismaDatabase } from "./runtime.ts";
