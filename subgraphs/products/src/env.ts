import { loadEnvOrExit, subgraphEnvSchema, type RawEnv, type z } from "@ecom/config";
import { workerEnvShape } from "@ecom/events";

/** Configuration of the products subgraph: the variables every subgraph has (see subgraphEnvSchema). */
export const envSchema = subgraphEnvSchema("products");

export type Env = z.infer<typeof envSchema>;

/** Parses the environment; exits with every problem listed when invalid. */
export function loadEnv(env: RawEnv = process.env): Env {
  return loadEnvOrExit("products", envSchema, env);
}

/** Configuration of the products worker (src/worker.ts): the subgraph's variables and the worker's (see workerEnvShape). */
export const workerEnvSchema = subgraphEnvSchema("products", workerEnvShape("products"), { signing: false });

/** Parses the worker's environment; exits with every problem listed when invalid. */
export function loadWorkerEnv(env: RawEnv = process.env): z.infer<typeof workerEnvSchema> {
  return loadEnvOrExit("products worker", workerEnvSchema, env);
}
