import DataLoader from "dataloader";
import { isUuid } from "@ecom/service";
import { MAX_ON_HAND } from "../domain/stock.ts";
import type { PrismaClient } from "../generated/prisma/client.ts";

/** A product's stock as resolvers see it (`id` is the product id). */
export interface StockRecord {
  id: string;
  onHand: number;
  reserved: number;
}

/** What a product that has no stock item has: nothing (so the catalog still renders it, as out of stock). */
const noStock = (id: string): StockRecord => ({ id, onHand: 0, reserved: 0 });

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
   * Adds `quantity` units to a product's stock, creating its stock item when missing. One statement: the
   * increment happens in Postgres (`on_hand = on_hand + n` under the row lock of the upsert), so concurrent restocks
   * never lose an update. Returns null, changing nothing, when the total would pass {@link MAX_ON_HAND}.
   */
  async restock(productId: string, quantity: number): Promise<StockRecord | null> {
    const rows = await this.prisma.$queryRaw<StockRecord[]>`
      INSERT INTO stock_items AS s (product_id, on_hand, updated_at)
      VALUES (${productId}::uuid, ${quantity}::int, now())
      ON CONFLICT (product_id) DO UPDATE
        SET on_hand = s.on_hand + EXCLUDED.on_hand, version = s.version + 1, updated_at = now()
        WHERE s.on_hand <= ${MAX_ON_HAND}::int - EXCLUDED.on_hand
      RETURNING product_id::text AS "id", on_hand AS "onHand", reserved`;
    return rows[0] ?? null;
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
export function createLoaders(repo: StockRepository): Loaders {
  return { stockByProductId: new DataLoader((ids) => repo.findByProductIds(ids)) };
}
