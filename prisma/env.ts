import { loadEnvOrExit, postgresUrl, z, type RawEnv } from "@ecom/config";
import { databaseUrlFor } from "@ecom/db";

/**
 * Configuration of the database tooling (bootstrap, seed). Each service's database URL is
 * `<SERVICE>_DATABASE_URL` (e.g. ORDERS_DATABASE_URL), defaulting to the development URL.
 */
export const envSchema = z.object({
  /** A superuser connection used to create databases and roles. */
  POSTGRES_ADMIN_URL: postgresUrl().default("postgres://postgres@127.0.0.1:5432/postgres"),
});

export type ToolEnv = z.infer<typeof envSchema> & { databaseUrlFor(service: string): string };

/** Parses the tooling environment; exits with every problem listed when invalid. */
export function loadToolEnv(env: RawEnv = process.env): ToolEnv {
  const parsed = loadEnvOrExit("database tooling", envSchema, env);
  return {
    ...parsed,
    databaseUrlFor: (service) => env[`${service.toUpperCase()}_DATABASE_URL`] || databaseUrlFor(service),
  };
}
