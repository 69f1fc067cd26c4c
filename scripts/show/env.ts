import { controlPlaneEnv, durationMs, httpUrl, loadEnvOrExit, postgresUrl, z, type RawEnv } from "@ecom/config";

/**
 * Configuration of `npm run show`: where the running `npm start` is. The same variables as `npm start` itself
 * (START_BASE_PORT, DATABASE_PREFIX, REDIS_URL, CONTROL_PLANE_PREFIX, POSTGRES_ADMIN_URL), so a platform started
 * with non-default values is shown by running `npm run show` with the same ones.
 */
export const showEnvSchema = z.object({
  ...controlPlaneEnv,
  /** Port of the gateway; subgraphs listen on the next ones (users +1 ... notifications +7), workers 100 above. */
  START_BASE_PORT: z.coerce.number().int().min(1024).max(65000).default(4000),
  /** The gateway's GraphQL endpoint. @default http://127.0.0.1:<START_BASE_PORT>/graphql */
  GATEWAY_URL: httpUrl().optional(),
  POSTGRES_ADMIN_URL: postgresUrl().default("postgres://postgres@127.0.0.1:5432/postgres"),
  /** Prefix of the databases, roles and queues of the platform (`npm start` uses the same). */
  DATABASE_PREFIX: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,40}$/, "must be lower-case letters, digits and underscores")
    .default("ecom"),
  /** The gateway's master signing keys, to call subgraphs as it does. @default the development master */
  SIGNING_KEYS: z.string().min(1).optional(),
  /** How long a show waits for what it shows (the breaker to open, an instance to appear...) before failing. */
  SHOW_WAIT: durationMs("60s"),
});

/** What every show reads its settings from. */
export interface ShowEnv {
  gatewayUrl: string;
  gatewayOrigin: string;
  basePort: number;
  redisUrl: string;
  controlPlanePrefix: string;
  postgresAdminUrl: string;
  databasePrefix: string;
  waitMs: number;
  signingKeys: string | undefined;
}

export function loadShowEnv(env: RawEnv = process.env): ShowEnv {
  const parsed = loadEnvOrExit("npm run show", showEnvSchema, env);
  const gatewayUrl = parsed.GATEWAY_URL ?? `http://127.0.0.1:${parsed.START_BASE_PORT}/graphql`;
  return {
    gatewayUrl,
    gatewayOrigin: new URL(gatewayUrl).origin,
    basePort: parsed.START_BASE_PORT,
    redisUrl: parsed.REDIS_URL,
    controlPlanePrefix: parsed.CONTROL_PLANE_PREFIX,
    postgresAdminUrl: parsed.POSTGRES_ADMIN_URL,
    databasePrefix: parsed.DATABASE_PREFIX,
    waitMs: parsed.SHOW_WAIT,
    signingKeys: parsed.SIGNING_KEYS,
  };
}
