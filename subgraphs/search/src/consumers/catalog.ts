/** The search worker's handlers: the catalog's events keep the read model current (new, changed, restocked, sold out). */
import type { MessageHandlers, SubscribedEvent } from "@ecom/events";
import { applyProductEvent, applyStockChanged } from "../datasources/catalog-events.ts";
import type { Transaction } from "../datasources/prisma.ts";

/** One handler per event search subscribes to (packages/events/src/topology.ts). */
export function createSearchHandlers(): MessageHandlers<SubscribedEvent<"search">, Transaction> {
  return {
    "product.created.v1": async (event, tx, { logger }) => {
      if (!(await applyProductEvent(tx, event))) logger.debug("stale product event: the document is newer");
    },
    "product.updated.v1": async (event, tx, { logger }) => {
      if (!(await applyProductEvent(tx, event))) logger.debug("stale product event: the document is newer");
    },
    "stock.changed.v1": async (event, tx, { logger }) => {
      if (!(await applyStockChanged(tx, event))) logger.debug("stale stock event: a newer one was applied");
    },
  };
}
