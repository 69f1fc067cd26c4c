/** Seeds the demo stock (one stock item per demo product) through the inventory data layer. Idempotent. */
import { demoProducts } from "@ecom/demo-data";
import { createDatabase } from "./datasources/prisma.ts";
import { StockRepository } from "./datasources/stock.ts";
import { loadEnv } from "./env.ts";
import { SEED_DATABASE_OPTIONS } from "@ecom/db";

/**
 * Creates the demo products' stock items that are missing in the database at `databaseUrl`. Existing items keep
 * their counts: stock is live state (restocks, reservations of checkouts in progress), which a re-seed must not undo.
 */
export async function seed(databaseUrl: string): Promise<{ stockItems: number; created: number }> {
  const db = createDatabase(databaseUrl, SEED_DATABASE_OPTIONS);
  try {
    const repo = new StockRepository(db.prisma);
    const created = await repo.createMissing(demoProducts.map((p) => ({ productId: p.id, onHand: p.stock })));
    return { stockItems: demoProducts.length, created };
  } finally {
    await db.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const env = loadEnv();
  const result = await seed(env.DATABASE_URL);
  process.stdout.write(`inventory: ${result.stockItems} demo stock items (${result.created} created)\n`);
}
