import { baseEnv, internalSecretEnv, loadEnvOrExit, port, postgresUrl, refuseDevSecretInProduction, z, type RawEnv } from "@ecom/config";
import { databaseUrlFor } from "@ecom/db";

/** Configuration of the inventory subgraph. */
export const envSchema = z
  .object({
    ...baseEnv,
    ...internalSecretEnv,
    PORT: port(4006),
    DATABASE_URL: postgresUrl().default(databaseUrlFor("inventory")),
  })
  .superRefine(refuseDevSecretInProduction);

export type Env = z.infer<typeof envSchema>;

/** Parses the environment; exits with every problem listed when invalid. */
export function loadEnv(env: RawEnv = process.env): Env {
  return loadEnvOrExit("inventory", envSchema, env);
}
