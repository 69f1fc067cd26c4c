export { parsePgUrl, formatPgUrl, redactPgUrl, quoteIdent, quoteLiteral, withPgClient, CatalogAsTextClient } from "./pg-connection.ts";
export type { PgConnectionFields } from "./pg-connection.ts";
export {
  discoverServiceDatabases,
  ensureServiceDatabase,
  dropServiceDatabase,
  migrateService,
  runPrisma,
  prismaCliPath,
  bootstrapDatabases,
} from "./bootstrap.ts";
export type { ServiceDatabase, EnsureResult, RunPrismaOptions, BootstrapOptions } from "./bootstrap.ts";
// The development database URLs live with the rest of the topology (ports) in @ecom/config, which env schemas use.
export { databaseUrlFor } from "@ecom/config";
export type { DatabaseUrlOptions } from "@ecom/config";
export { createPrismaAdapter, createServiceDatabase, checkPostgres, databaseOptionsFromEnv, SEED_DATABASE_OPTIONS } from "./runtime.ts";
export type { DatabaseLimitsEnv, PrismaAdapterOptions, PrismaClientClass, PrismaDatabase } from "./runtime.ts";
export { postgresOutageReason } from "./outage.ts";
