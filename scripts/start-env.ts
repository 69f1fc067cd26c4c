import { durationMs, loadEnvOrExit, nodeEnv, postgresUrl, redisUrl, z, type RawEnv } from "@ecom/config";

/** Configuration of `npm start`. */
export const startEnvSchema = z.object({
  NODE_ENV: nodeEnv,
  POSTGRES_ADMIN_URL: postgresUrl().default("postgres://postgres@127.0.0.1:5432/postgres"),
  REDIS_URL: redisUrl().default("redis://127.0.0.1:6379/0"),
  /** Port of the gateway; subgraphs take the next ones (users +1 ... notifications +7). */
  START_BASE_PORT: z.coerce.number().int().min(1024).max(65000).default(4000),
  /** Restarts in a row of one process (without 30 s of stable running) after which `npm start` gives up. */
  START_MAX_RESTARTS: z.coerce.number().int().min(0).max(100).default(5),
  /** Delay before the first restart of a process that died; doubled for each further one in a row, up to 10 s. */
  START_RESTART_DELAY: durationMs("500ms"),
});

export function loadStartEnv(env: RawEnv = process.env) {
  return loadEnvOrExit("npm start", startEnvSchema, env);
}
