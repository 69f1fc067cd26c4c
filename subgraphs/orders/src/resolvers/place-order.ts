import { requireUser } from "@ecom/auth";
import { badUserInput, codedError, ErrorCode, unauthenticated } from "@ecom/errors";
import { isEntityClientError, isUuid, parseInput } from "@ecom/service";
import type { MutationResolvers } from "../__generated__/resolvers-types.ts";
import type { OrderRecord, OrdersRepository, StoredOrder } from "../datasources/orders.ts";
import type { ProductCatalog } from "../datasources/products.ts";
import { placeOrderInputSchema, priceOrder, requestHashOf, type ProductPrice } from "../domain/place-order.ts";

/** What `placeOrder` needs. */
export interface PlaceOrderDeps {
  orders: OrdersRepository;
  products: ProductCatalog;
}

/** An earlier order with the same key: returned if it was the same request, refused otherwise. */
function replay(existing: StoredOrder, requestHash: string): OrderRecord {
  if (existing.requestHash !== requestHash) {
    throw badUserInput("This idempotencyKey was already used for a different order: use a new key for a new order.", {
      field: "input.idempotencyKey",
    });
  }
  const { requestHash: _omit, ...order } = existing;
  return order;
}

/**
 * `Mutation.placeOrder`: validate, replay a known idempotency key, price the items with one `_entities` call to
 * the products subgraph, then write the order in one transaction. Nothing is written unless every check passed.
 */
export function createPlaceOrder(deps: PlaceOrderDeps): NonNullable<MutationResolvers["placeOrder"]> {
  return async (_parent, { input }, ctx) => {
    const buyer = requireUser(ctx.identity);
    // Users are UUIDs (users subgraph); anything else would be a uuid cast error in Postgres.
    if (!isUuid(buyer.userId)) throw unauthenticated("The signed-in user id is not valid.");
    const request = parseInput(placeOrderInputSchema, input, "input");
    const requestHash = requestHashOf(request);

    // A retry of a placed order is answered from the database alone: it works even while products is down.
    const earlier = await deps.orders.findByIdempotencyKey(buyer.userId, request.idempotencyKey);
    if (earlier) return replay(earlier, requestHash);

    let prices: Array<ProductPrice | null>;
    try {
      prices = await deps.products.pricesOf(request.items.map((i) => i.productId));
    } catch (error) {
      if (!isEntityClientError(error)) throw error;
      ctx.logger.warn({ err: error }, "products subgraph unavailable: order not placed");
      throw codedError(
        ErrorCode.SUBGRAPH_UNAVAILABLE,
        "The product catalog is unavailable, no order was placed: retry with the same idempotencyKey.",
        {
          service: "products",
        },
      );
    }
    const priced = priceOrder(request, prices);

    const result = await deps.orders.create({
      buyerId: buyer.userId,
      idempotencyKey: request.idempotencyKey,
      requestHash,
      paymentToken: request.paymentToken,
      ...priced,
    });
    if (!result.created) return replay(result.order, requestHash);

    // The response usually selects items and timeline: answer them from what was just written.
    ctx.loaders.itemsByOrderId.prime(result.order.id, result.items);
    ctx.loaders.timelineByOrderId.prime(result.order.id, result.timeline);
    ctx.loaders.orderById.prime(result.order.id, result.order);
    ctx.logger.info({ orderId: result.order.id, total: result.order.totalAmount, currency: result.order.currency }, "order placed");
    return result.order;
  };
}
