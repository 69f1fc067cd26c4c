import { durationMs, loadEnvOrExit, subgraphEnvSchema, type RawEnv, type z } from "@ecom/config";
import { workerEnvShape } from "@ecom/events";

/** Configuration of the inventory subgraph: the variables every subgraph has (see subgraphEnvSchema). */
export const envSchema = subgraphEnvSchema("inventory");

export type Env = z.infer<typeof envSchema>;

/** Parses the environment; exits with every problem listed when invalid. */
export function loadEnv(env: RawEnv = process.env): Env {
  return loadEnvOrExit("inventory", envSchema, env);
}

/** Configuration of the inventory worker (src/worker.ts): the subgraph's variables and the worker's (see workerEnvShape). */
export const workerEnvSchema = subgraphEnvSchema(
  "inventory",
  {
    ...workerEnvShape("inventory"),
    /** How often the job scheduler releases expired reservations. */
    RESERVATION_SWEEP_INTERVAL: durationMs("5s"),
  },
  { signing: false },
);

/** Parses the worker's environment; exits with every problem listed when invalid. */
export function loadWorkerEnv(env: RawEnv = process.env): z.infer<typeof workerEnvSchema> {
  return loadEnvOrExit("inventory worker", workerEnvSchema, env);
}
