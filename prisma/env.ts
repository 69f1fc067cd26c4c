import { loadEnvOrExit, postgresUrl, z, type RawEnv } from "@ecom/config";
import { databaseUrlFor, parsePgUrl } from "@ecom/db";

/**
 * Configuration of the database tooling (bootstrap, seed). Each service's database URL is
 * `<SERVICE>_DATABASE_URL` (e.g. ORDERS_DATABASE_URL), defaulting to the development URL.
 */
export const envSchema = z.object({
  /** A superuser connection used to create databases and roles. */
  POSTGRES_ADMIN_URL: postgresUrl().default("postgres://postgres@127.0.0.1:5432/postgres"),
  /** Prefix of development database and role names (`<prefix>_<service>`); tests use their own. */
  DATABASE_PREFIX: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,40}$/, "must be lower-case letters, digits and underscores")
    .default("ecom"),
});

export type ToolEnv = z.infer<typeof envSchema> & { databaseUrlFor(service: string): string };

/** Parses the tooling environment; exits with every problem listed when invalid. */
export function loadToolEnv(env: RawEnv = process.env): ToolEnv {
  const parsed = loadEnvOrExit("database tooling", envSchema, env);
  return {
    ...parsed,
    databaseUrlFor: (service) => {
      const admin = parsePgUrl(parsed.POSTGRES_ADMIN_URL);
      return (
        env[`${service.toUpperCase()}_DATABASE_URL`] ||
        databaseUrlFor(service, { prefix: parsed.DATABASE_PREFIX, host: admin.host, port: admin.port })
      );
    },
  };
}
