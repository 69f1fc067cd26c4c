/** Seeds the demo catalog (9 categories, 225 products) through the products data layer. Idempotent (upserts by id). */
import { demoCategories, demoProducts } from "@ecom/demo-data";
import { CatalogRepository } from "./datasources/catalog.ts";
import { createDatabase } from "./datasources/prisma.ts";
import { loadEnv } from "./env.ts";
import { SEED_DATABASE_OPTIONS } from "@ecom/db";

/**
 * Upserts the demo catalog into the database at `databaseUrl`, by the demo ids (which other services' demo data
 * refer to). Demo rows are reset to their demo values; other products are left alone.
 */
export async function seed(databaseUrl: string): Promise<{ categories: number; products: number }> {
  const db = createDatabase(databaseUrl, SEED_DATABASE_OPTIONS);
  try {
    const repo = new CatalogRepository(db.prisma);
    for (const category of demoCategories) await repo.upsertCategory(category);
    for (const { stock: _stockIsInventorys, ...product } of demoProducts) await repo.upsertProduct(product);
    return { categories: demoCategories.length, products: demoProducts.length };
  } finally {
    await db.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const env = loadEnv();
  const result = await seed(env.DATABASE_URL);
  process.stdout.write(`products: seeded ${result.categories} categories and ${result.products} products\n`);
}
