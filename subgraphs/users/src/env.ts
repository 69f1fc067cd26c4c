import {
  baseEnv,
  durationMs,
  internalSecretEnv,
  loadEnvOrExit,
  port,
  postgresUrl,
  refuseDevSecretInProduction,
  requiredInProduction,
  z,
  type RawEnv,
} from "@ecom/config";
import { databaseUrlFor } from "@ecom/db";

/** Configuration of the users subgraph. */
export const envSchema = z
  .object({
    ...baseEnv,
    ...internalSecretEnv,
    PORT: port(4001),
    DATABASE_URL: postgresUrl().default(databaseUrlFor("users")),
    /** PKCS#8 PEM of the ES256 signing key; generated per process in development. */
    JWT_PRIVATE_KEY: z.string().includes("PRIVATE KEY", { message: "must be a PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)" }).optional(),
    JWT_ISSUER: z.string().default("ecom-users"),
    JWT_AUDIENCE: z.string().default("ecom-gateway"),
    JWT_TTL: durationMs("1h"),
  })
  .superRefine(requiredInProduction(["JWT_PRIVATE_KEY"]))
  .superRefine(refuseDevSecretInProduction);

export type Env = z.infer<typeof envSchema>;

/** Parses the environment; exits with every problem listed when invalid. */
export function loadEnv(env: RawEnv = process.env): Env {
  return loadEnvOrExit("users", envSchema, env);
}
