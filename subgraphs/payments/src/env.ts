import { loadEnvOrExit, subgraphEnvSchema, type RawEnv, type z } from "@ecom/config";

/** Configuration of the payments subgraph: the variables every subgraph has (see subgraphEnvSchema). */
export const envSchema = subgraphEnvSchema("payments");

export type Env = z.infer<typeof envSchema>;

/** Parses the environment; exits with every problem listed when invalid. */
export function loadEnv(env: RawEnv = process.env): Env {
  return loadEnvOrExit("payments", envSchema, env);
}
