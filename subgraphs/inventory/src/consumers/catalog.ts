/** The inventory worker's handlers: inventory learns the catalog from its events (a stock item per product). */
import type { MessageHandlers, SubscribedEvent } from "@ecom/events";
import type { Transaction } from "../datasources/prisma.ts";
import { StockRepository } from "../datasources/stock.ts";

/** One handler per event inventory subscribes to (packages/events/src/topology.ts). */
export function createInventoryHandlers(): MessageHandlers<SubscribedEvent<"inventory">, Transaction> {
  return {
    // An empty stock item: the product can now be restocked. Redelivered or late, it never touches existing stock.
    "product.created.v1": async (event, tx, { logger }) => {
      const created = await StockRepository.addProduct(tx, event.payload.productId);
      if (!created) logger.debug("the product's stock item exists already");
    },
  };
}
