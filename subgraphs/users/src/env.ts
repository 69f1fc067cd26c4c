import { durationMs, loadEnvOrExit, subgraphEnvSchema, z, type RawEnv } from "@ecom/config";
import { workerEnvShape } from "@ecom/events";

/** Configuration of the users subgraph: the variables every subgraph has (see subgraphEnvSchema), and these. */
export const envSchema = subgraphEnvSchema(
  "users",
  {
    /** PKCS#8 PEM of the ES256 signing key; generated per process in development. */
    JWT_PRIVATE_KEY: z.string().includes("PRIVATE KEY", { message: "must be a PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)" }).optional(),
    JWT_ISSUER: z.string().default("ecom-users"),
    JWT_AUDIENCE: z.string().default("ecom-gateway"),
    JWT_TTL: durationMs("1h"),
  },
  { requiredInProduction: ["JWT_PRIVATE_KEY"] },
);

export type Env = z.infer<typeof envSchema>;

/** Parses the environment; exits with every problem listed when invalid. */
export function loadEnv(env: RawEnv = process.env): Env {
  return loadEnvOrExit("users", envSchema, env);
}

/** Configuration of the users worker (src/worker.ts): the subgraph's variables and the worker's (see workerEnvShape). */
export const workerEnvSchema = subgraphEnvSchema("users", workerEnvShape("users"), { signing: false });

/** Parses the worker's environment; exits with every problem listed when invalid. */
export function loadWorkerEnv(env: RawEnv = process.env): z.infer<typeof workerEnvSchema> {
  return loadEnvOrExit("users worker", workerEnvSchema, env);
}
