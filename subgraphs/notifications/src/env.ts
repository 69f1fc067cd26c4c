import { baseEnv, internalSecretEnv, loadEnvOrExit, port, postgresUrl, refuseDevSecretInProduction, z, type RawEnv } from "@ecom/config";
import { databaseUrlFor } from "@ecom/db";

/** Configuration of the notifications subgraph. */
export const envSchema = z
  .object({
    ...baseEnv,
    ...internalSecretEnv,
    PORT: port(4007),
    DATABASE_URL: postgresUrl().default(databaseUrlFor("notifications")),
  })
  .superRefine(refuseDevSecretInProduction);

export type Env = z.infer<typeof envSchema>;

/** Parses the environment; exits with every problem listed when invalid. */
export function loadEnv(env: RawEnv = process.env): Env {
  return loadEnvOrExit("notifications", envSchema, env);
}
