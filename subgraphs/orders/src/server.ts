import {
  commonSubgraphOptions,
  createEntityClient,
  createSubgraphServer,
  loadTypeDefs,
  type SubgraphDeps,
  type SubgraphServer,
} from "@ecom/service";
import { createLoaders, OrdersRepository } from "./datasources/orders.ts";
import type { Database } from "./datasources/prisma.ts";
import { ProductCatalog } from "./datasources/products.ts";
import { z } from "@ecom/config";
import { checkoutEnvShape, type Env } from "./env.ts";
import { createCheckout, startCheckoutOnCreate } from "./saga/checkout.ts";
import { createResolvers } from "./resolvers/index.ts";

/** The subgraph's SDL, as composed into the supergraph. */
export const typeDefs = loadTypeDefs(new URL("./schema.graphql", import.meta.url));

/** Everything the server is built from; the boot file (index.ts) or a test provides it. */
export type ServerDeps = SubgraphDeps<
  Database,
  Pick<Env, "PRODUCTS_URL" | "PRODUCTS_TIMEOUT" | "PRODUCTS_SIGNING_KEYS"> &
    Partial<Pick<Env, "CHECKOUT_STEP_TIMEOUT" | "CHECKOUT_RESERVATION_TTL" | "CHECKOUT_COMPENSATION_TIMEOUT">>
>;

/** The checkout timings of `env`, with the schema's defaults where a test leaves them out. */
export function checkoutOptionsOf(
  env: Partial<Pick<Env, "CHECKOUT_STEP_TIMEOUT" | "CHECKOUT_RESERVATION_TTL" | "CHECKOUT_COMPENSATION_TIMEOUT">>,
) {
  const defaults = z.object(checkoutEnvShape).parse({});
  return {
    stepTimeoutMs: env.CHECKOUT_STEP_TIMEOUT ?? defaults.CHECKOUT_STEP_TIMEOUT,
    reservationTtlMs: env.CHECKOUT_RESERVATION_TTL ?? defaults.CHECKOUT_RESERVATION_TTL,
    compensationTimeoutMs: env.CHECKOUT_COMPENSATION_TIMEOUT ?? defaults.CHECKOUT_COMPENSATION_TIMEOUT,
  };
}

/** Builds the orders subgraph server (not listening). */
export function createServer(deps: ServerDeps): Promise<SubgraphServer> {
  // placeOrder starts the checkout saga in the transaction that writes the order (its first command included).
  const checkout = createCheckout(checkoutOptionsOf(deps.env), { logger: deps.logger, registry: deps.metrics.registry });
  const orders = new OrdersRepository(deps.db.prisma, startCheckoutOnCreate(checkout));
  const fetchEntities = createEntityClient({
    url: deps.env.PRODUCTS_URL,
    // Signed as orders itself with K(orders -> products): products sees a service call, never a user.
    signing: { caller: "orders", target: "products", keys: deps.env.PRODUCTS_SIGNING_KEYS },
    timeoutMs: deps.env.PRODUCTS_TIMEOUT,
  });
  const products = new ProductCatalog(fetchEntities, deps.env.PRODUCTS_URL);
  return createSubgraphServer({
    ...commonSubgraphOptions("orders", deps),
    typeDefs,
    resolvers: createResolvers({ orders, products }),
    // Products is not a readiness dependency: while it is down, orders still serve reads and idempotent replays.
    createLoaders: (_identity, loaderOptions) => createLoaders(orders, loaderOptions),
  });
}
