import {
  callSigningKeys,
  defaultSubgraphUrl,
  durationMs,
  httpUrl,
  loadEnvOrExit,
  subgraphEnvSchema,
  type RawEnv,
  type z,
} from "@ecom/config";
import { workerEnvShape } from "@ecom/events";

/** Configuration of the orders subgraph: the variables every subgraph has (see subgraphEnvSchema), and these. */
export const envSchema = subgraphEnvSchema("orders", {
  /** The products subgraph's `/graphql`, asked for current prices (`_entities`) when an order is placed. */
  PRODUCTS_URL: httpUrl().default(defaultSubgraphUrl("products")),
  /** Timeout of one price lookup; past it placeOrder fails with SUBGRAPH_UNAVAILABLE. */
  PRODUCTS_TIMEOUT: durationMs("3s"),
  /** K(orders -> products): signs the price lookups as `orders` (`npm run keys` prints it). */
  PRODUCTS_SIGNING_KEYS: callSigningKeys("orders", "products"),
});

export type Env = z.infer<typeof envSchema>;

/** Parses the environment; exits with every problem listed when invalid. */
export function loadEnv(env: RawEnv = process.env): Env {
  return loadEnvOrExit("orders", envSchema, env);
}

/** Configuration of the orders worker (src/worker.ts): the subgraph's variables and the worker's (see workerEnvShape). */
export const workerEnvSchema = subgraphEnvSchema("orders", workerEnvShape("orders"), { signing: false });

/** Parses the worker's environment; exits with every problem listed when invalid. */
export function loadWorkerEnv(env: RawEnv = process.env): z.infer<typeof workerEnvSchema> {
  return loadEnvOrExit("orders worker", workerEnvSchema, env);
}
