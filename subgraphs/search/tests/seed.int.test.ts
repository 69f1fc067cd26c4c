import { demoProducts } from "@ecom/demo-data";
import { createTestDatabase, sql } from "@ecom/testing";
import { describe, expect, inject, it } from "vitest";
import { seed } from "../src/seed.ts";
import { idsOf, search, startSearch } from "./harness.ts";

/** Every document as stored (without updated_at), in id order. */
async function snapshot(databaseUrl: string) {
  return sql(
    databaseUrl,
    `SELECT product_id::text, name, description, category_id::text, price_amount, currency, in_stock, search_vector::text
     FROM search_documents ORDER BY product_id`,
  );
}

describe("search seed", () => {
  it("indexes one document per demo product, in stock when stock > 0, and is idempotent", async () => {
    await using db = await createTestDatabase(inject("testRun"), "search");
    expect(await seed(db.url)).toEqual({ documents: demoProducts.length });
    const first = await snapshot(db.url);
    expect(first).toHaveLength(demoProducts.length);
    expect(first.filter((r) => r.in_stock)).toHaveLength(demoProducts.filter((p) => p.stock > 0).length);
    expect(first.filter((r) => !r.in_stock).length).toBeGreaterThan(0);

    await seed(db.url);
    expect(await snapshot(db.url)).toEqual(first);
  });

  it("brings drifted documents back to the demo catalog when run again", async () => {
    await using db = await createTestDatabase(inject("testRun"), "search");
    await seed(db.url);
    const seeded = await snapshot(db.url);
    {
      await using h = await startSearch(db.url);
      const p = demoProducts[0]!;
      await h.index.upsertDocument({ ...p, productId: p.id, name: "Renamed", inStock: p.stock === 0 });
    }
    expect(await snapshot(db.url)).not.toEqual(seeded);
    await seed(db.url);
    expect(await snapshot(db.url)).toEqual(seeded);
  });

  it("makes the demo catalog searchable", async () => {
    await using db = await createTestDatabase(inject("testRun"), "search");
    await seed(db.url);
    await using h = await startSearch(db.url);
    const headphones = demoProducts.filter((p) => p.name.endsWith("Wireless Headphones")).map((p) => p.id);
    const page = await search(h, { query: "wireless headphones", first: 100 });
    expect(new Set(idsOf(page))).toEqual(new Set(headphones));
    expect(page.totalCount).toBe(5);
  });
});
