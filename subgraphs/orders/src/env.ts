import { defaultSubgraphUrl, durationMs, httpUrl, loadEnvOrExit, subgraphEnvSchema, type RawEnv, type z } from "@ecom/config";

/** Configuration of the orders subgraph: the variables every subgraph has (see subgraphEnvSchema), and these. */
export const envSchema = subgraphEnvSchema("orders", {
  /** The products subgraph's `/graphql`, asked for current prices (`_entities`) when an order is placed. */
  PRODUCTS_URL: httpUrl().default(defaultSubgraphUrl("products")),
  /** Timeout of one price lookup; past it placeOrder fails with SUBGRAPH_UNAVAILABLE. */
  PRODUCTS_TIMEOUT: durationMs("3s"),
});

export type Env = z.infer<typeof envSchema>;

/** Parses the environment; exits with every problem listed when invalid. */
export function loadEnv(env: RawEnv = process.env): Env {
  return loadEnvOrExit("orders", envSchema, env);
}
