/** Seeds the search read model with one document per demo product. Idempotent: documents are upserted. */
import { demoProducts } from "@ecom/demo-data";
import { createDatabase } from "./datasources/prisma.ts";
import { SearchIndex } from "./datasources/search-index.ts";
import { loadEnv } from "./env.ts";
import { SEED_DATABASE_OPTIONS } from "@ecom/db";

/** Upserts a document for every demo product into the database at `databaseUrl`. */
export async function seed(databaseUrl: string): Promise<{ documents: number }> {
  const db = createDatabase(databaseUrl, SEED_DATABASE_OPTIONS);
  try {
    const index = new SearchIndex(db.prisma);
    await index.upsertDocuments(
      demoProducts.map((p) => ({
        productId: p.id,
        name: p.name,
        description: p.description,
        categoryId: p.categoryId,
        priceAmount: p.priceAmount,
        currency: p.currency,
        inStock: p.stock > 0,
      })),
    );
    return { documents: demoProducts.length };
  } finally {
    await db.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const env = loadEnv();
  const result = await seed(env.DATABASE_URL);
  process.stdout.write(`search: seeded ${result.documents} documents\n`);
}
