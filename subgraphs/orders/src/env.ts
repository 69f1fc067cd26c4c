import {
  baseEnv,
  durationMs,
  httpUrl,
  internalSecretEnv,
  loadEnvOrExit,
  port,
  postgresUrl,
  refuseDevSecretInProduction,
  z,
  type RawEnv,
} from "@ecom/config";
import { databaseUrlFor } from "@ecom/db";

/** Configuration of the orders subgraph. */
export const envSchema = z
  .object({
    ...baseEnv,
    ...internalSecretEnv,
    PORT: port(4004),
    DATABASE_URL: postgresUrl().default(databaseUrlFor("orders")),
    /** The products subgraph's `/graphql`, asked for current prices (`_entities`) when an order is placed. */
    PRODUCTS_URL: httpUrl().default("http://localhost:4002/graphql"),
    /** Timeout of one price lookup; past it placeOrder fails with SUBGRAPH_UNAVAILABLE. */
    PRODUCTS_TIMEOUT: durationMs("3s"),
  })
  .superRefine(refuseDevSecretInProduction);

export type Env = z.infer<typeof envSchema>;

/** Parses the environment; exits with every problem listed when invalid. */
export function loadEnv(env: RawEnv = process.env): Env {
  return loadEnvOrExit("orders", envSchema, env);
}
