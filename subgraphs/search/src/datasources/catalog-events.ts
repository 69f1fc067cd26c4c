/**
 * Keeps the read model current from the catalog's events (product.created.v1, product.updated.v1,
 * stock.changed.v1), inside the consumer's transaction. Every write is guarded by the aggregate version, so
 * redelivered and out-of-order events end in the same state as the events applied once, in order: a product event
 * older than the document's `product_version` and a stock event older than the stored stock `version` change
 * nothing. Stock heard of before its product is kept in `search_stock` and picked up when the document is created.
 */
import type { Message } from "@ecom/events";
import type { Transaction } from "./prisma.ts";

type ProductEvent = Message<"product.created.v1" | "product.updated.v1">;

/** Writes a product's document from a product event, unless the document is already at this version or newer. */
export async function applyProductEvent(tx: Transaction, event: ProductEvent): Promise<boolean> {
  const p = event.payload;
  const written = await tx.$executeRaw`
    INSERT INTO search_documents AS d (product_id, name, description, category_id, price_amount, currency, in_stock, product_version, updated_at)
    VALUES (${p.productId}::uuid, ${p.name}, ${p.description}, ${p.categoryId}::uuid, ${p.priceAmount}::int, ${p.currency},
            COALESCE((SELECT in_stock FROM search_stock WHERE product_id = ${p.productId}::uuid), false),
            ${event.aggregateVersion}::int, now())
    ON CONFLICT (product_id) DO UPDATE
      SET name = EXCLUDED.name, description = EXCLUDED.description, category_id = EXCLUDED.category_id,
          price_amount = EXCLUDED.price_amount, currency = EXCLUDED.currency,
          product_version = EXCLUDED.product_version, updated_at = now()
      WHERE d.product_version < EXCLUDED.product_version`;
  return written > 0;
}

/** Records a product's stock state and flags its document, unless a newer stock event was applied already. */
export async function applyStockChanged(tx: Transaction, event: Message<"stock.changed.v1">): Promise<boolean> {
  const { productId, available } = event.payload;
  const inStock = available > 0;
  const written = await tx.$executeRaw`
    INSERT INTO search_stock AS s (product_id, in_stock, version, updated_at)
    VALUES (${productId}::uuid, ${inStock}, ${event.aggregateVersion}::int, now())
    ON CONFLICT (product_id) DO UPDATE SET in_stock = EXCLUDED.in_stock, version = EXCLUDED.version, updated_at = now()
      WHERE s.version < EXCLUDED.version`;
  if (written === 0) return false;
  await tx.$executeRaw`UPDATE search_documents SET in_stock = ${inStock}, updated_at = now() WHERE product_id = ${productId}::uuid`;
  return true;
}
