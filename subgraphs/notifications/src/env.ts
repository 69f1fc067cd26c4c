import { loadEnvOrExit, subgraphEnvSchema, z, type RawEnv } from "@ecom/config";
import { workerEnvShape } from "@ecom/events";

/** Configuration of the notifications subgraph: the variables every subgraph has (see subgraphEnvSchema). */
export const envSchema = subgraphEnvSchema("notifications");

export type Env = z.infer<typeof envSchema>;

/** Parses the environment; exits with every problem listed when invalid. */
export function loadEnv(env: RawEnv = process.env): Env {
  return loadEnvOrExit("notifications", envSchema, env);
}

/** Configuration of the notifications worker (src/worker.ts): the subgraph's variables, the worker's (see workerEnvShape), and these. */
export const workerEnvSchema = subgraphEnvSchema(
  "notifications",
  {
    ...workerEnvShape("notifications"),
    /**
     * Which transports send notifications. `development` stores every message in `development_messages` and logs it;
     * a deployment with real providers adds its transports (src/domain/transports.ts) and a value here.
     */
    NOTIFICATIONS_TRANSPORT: z.enum(["development"]).default("development"),
  },
  { signing: false },
);

/** Parses the worker's environment; exits with every problem listed when invalid. */
export function loadWorkerEnv(env: RawEnv = process.env): z.infer<typeof workerEnvSchema> {
  return loadEnvOrExit("notifications worker", workerEnvSchema, env);
}
