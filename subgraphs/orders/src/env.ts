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

/** The checkout saga's timings: the subgraph starts sagas with them, the worker advances them. */
export const checkoutEnvShape = {
  /** Deadline of each checkout step (reserve, charge, confirm); past it the order is cancelled and compensated. */
  CHECKOUT_STEP_TIMEOUT: durationMs("30s"),
  /** How long inventory holds reserved stock without a confirm (its scheduler releases it after). */
  CHECKOUT_RESERVATION_TTL: durationMs("15m"),
  /** First wait for a compensation's answer before it is sent again (doubled each time, up to a minute). */
  CHECKOUT_COMPENSATION_TIMEOUT: durationMs("5s"),
};

/** Configuration of the orders subgraph: the variables every subgraph has (see subgraphEnvSchema), and these. */
export const envSchema = subgraphEnvSchema("orders", {
  ...checkoutEnvShape,
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
export const workerEnvSchema = subgraphEnvSchema(
  "orders",
  {
    ...workerEnvShape("orders"),
    ...checkoutEnvShape,
    /** How often the saga timer (a BullMQ job scheduler) acts on passed deadlines. */
    SAGA_SWEEP_INTERVAL: durationMs("1s"),
    /** An unfinished saga this long past its deadline counts as stuck (metric saga_stuck). */
    SAGA_STUCK_AFTER: durationMs("60s"),
  },
  { signing: false },
);

/** Parses the worker's environment; exits with every problem listed when invalid. */
export function loadWorkerEnv(env: RawEnv = process.env): z.infer<typeof workerEnvSchema> {
  return loadEnvOrExit("orders worker", workerEnvSchema, env);
}
