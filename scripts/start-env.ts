import { loadEnvOrExit, nodeEnv, postgresUrl, redisUrl, z, type RawEnv } from "@ecom/config";

/** Configuration of `npm start`. */
export const startEnvSchema = z.object({
  NODE_ENV: nodeEnv,
  POSTGRES_ADMIN_URL: postgresUrl().default("postgres://postgres@127.0.0.1:5432/postgres"),
  REDIS_URL: redisUrl().default("redis://127.0.0.1:6379/0"),
  /** Port of the gateway; subgraphs take the next ones (users +1 ... notifications +7). */
  START_BASE_PORT: z.coerce.number().int().min(1024).max(65000).default(4000),
});

export function loadStartEnv(env: RawEnv = process.env) {
  return loadEnvOrExit("npm start", startEnvSchema, env);
}
