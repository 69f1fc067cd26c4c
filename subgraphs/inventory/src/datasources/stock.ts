import DataLoader from "dataloader";
import type { LoaderOptions } from "@ecom/service";
import { createOutbox } from "@ecom/events";
import { isUuid } from "@ecom/service";
import { availableUnits, MAX_ON_HAND } from "../domain/stock.ts";
import type { PrismaClient } from "../generated/prisma/client.ts";
import type { Transaction } from "./prisma.ts";

/** A product's stock as resolvers see it (`id` is the product id). */
export interface StockRecord {
  id: string;
  onHand: number;
  reserved: number;
}

/** What a product that has no stock item has: nothing (so the catalog still renders it, as out of stock). */
const noStock = (id: string): StockRecord => ({ id, onHand: 0, reserved: 0 });

/** What {@link StockRepository.restock} did. */
export type RestockResult =
  | { kind: "restocked"; item: StockRecord }
  /** Inventory has not heard of this product (no product.created.v1 for it): nothing changed. */
  | { kind: "unknown-product" }
  /** The total would pass {@link MAX_ON_HAND}: nothing changed. */
  | { kind: "overflow" };

/** The inventory outbox: stock changes are announced in the transaction that makes them. */
const outbox = createOutbox({ producer: "inventory" });

/** Data access of the inventory subgraph. */
export class StockRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Stock of each product asked, in order: one statement for the whole batch. A product without a stock item
   * (unknown here, or never stocked) has 0; so does a malformed id, which never reaches Postgres.
   */
  async findByProductIds(ids: readonly string[]): Promise<StockRecord[]> {
    const valid = [...new Set(ids.filter(isUuid).map((id) => id.toLowerCase()))];
    const rows = valid.length
      ? await this.prisma.stockItem.findMany({
          where: { productId: { in: valid } },
          select: { productId: true, onHand: true, reserved: true },
        })
      : [];
    const byId = new Map(rows.map((r) => [r.productId, r]));
    return ids.map((id) => {
      const row = byId.get(id.toLowerCase());
      return row ? { id, onHand: row.onHand, reserved: row.reserved } : noStock(id);
    });
  }

  /**
   * Adds `quantity` units to a product's stock and writes `stock.changed.v1` in the same transaction. The increment
   * happens in Postgres (`on_hand = on_hand + n` under the row lock of the UPDATE), so concurrent restocks never lose
   * an update, and their events commit in the order of their versions. Only products inventory knows (it holds a
   * stock item for every product of the catalog: seeded, or created from product.created.v1) can be restocked.
   */
  async restock(productId: string, quantity: number): Promise<RestockResult> {
    return this.prisma.$transaction(async (tx) => {
      const increment = () => tx.$queryRaw<StockRecord[]>`
        UPDATE stock_items SET on_hand = on_hand + ${quantity}::int, version = version + 1, updated_at = now()
        WHERE product_id = ${productId}::uuid AND on_hand <= ${MAX_ON_HAND}::int - ${quantity}::int
        RETURNING product_id::text AS "id", on_hand AS "onHand", reserved`;
      let [item] = await increment();
      if (!item) {
        // Nothing changed: the product is unknown, the stock would overflow, or its stock item was created (by
        // product.created.v1) after the UPDATE's snapshot. Under READ COMMITTED this statement sees such a row, so
        // decide under its lock rather than calling a just-announced product's restock an overflow.
        const [row] = await tx.$queryRaw<Array<{ onHand: number }>>`
          SELECT on_hand AS "onHand" FROM stock_items WHERE product_id = ${productId}::uuid FOR UPDATE`;
        if (!row) return { kind: "unknown-product" };
        if (row.onHand > MAX_ON_HAND - quantity) return { kind: "overflow" };
        [item] = await increment();
        if (!item) return { kind: "overflow" };
      }
      await outbox.write(tx, {
        type: "stock.changed.v1",
        aggregateId: productId,
        payload: {
          productId,
          onHand: item.onHand,
          reserved: item.reserved,
          available: availableUnits(item),
          delta: quantity,
          reason: "restock",
        },
      });
      return { kind: "restocked", item };
    });
  }

  /**
   * Creates the (empty) stock item of a product the catalog announced, inside a consumer's transaction; a product
   * inventory holds already keeps its counts. Resolves true when it was created.
   */
  static async addProduct(tx: Transaction, productId: string): Promise<boolean> {
    const created = await tx.$executeRaw`
      INSERT INTO stock_items (product_id, on_hand, reserved, version, updated_at) VALUES (${productId}::uuid, 0, 0, 0, now())
      ON CONFLICT (product_id) DO NOTHING`;
    return created > 0;
  }

  /** Up to `limit` stock items with at most `threshold` units available, fewest first, then by product id. */
  findLowStock(threshold: number, limit: number): Promise<StockRecord[]> {
    // Raw SQL: Prisma cannot filter or order on an expression of two columns.
    return this.prisma.$queryRaw<StockRecord[]>`
      SELECT product_id::text AS "id", on_hand AS "onHand", reserved
      FROM stock_items
      WHERE on_hand - reserved <= ${threshold}::int
      ORDER BY on_hand - reserved, product_id
      LIMIT ${limit}::int`;
  }

  /** Creates the stock items that do not exist yet (seed); existing ones keep their counts. Returns how many were created. */
  async createMissing(items: ReadonlyArray<{ productId: string; onHand: number }>): Promise<number> {
    const { count } = await this.prisma.stockItem.createMany({ data: [...items], skipDuplicates: true });
    return count;
  }

  /** How many stock items exist (seed report, tests). */
  count(): Promise<number> {
    return this.prisma.stockItem.count();
  }
}

/** The DataLoaders of one request. */
export interface Loaders {
  stockByProductId: DataLoader<string, StockRecord>;
}

/** Fresh loaders for one request: all `Product` stock lookups of a request become one query. */
export function createLoaders(repo: StockRepository, options: Partial<LoaderOptions> = {}): Loaders {
  return { stockByProductId: new DataLoader((ids) => repo.findByProductIds(ids), { ...options }) };
}
