import { createTestDatabase } from "@ecom/testing";
import { describe, expect, inject, it } from "vitest";
import { isInvalidSearchDocumentError, type SearchDocumentInput } from "../src/datasources/search-index.ts";
import { idsOf, search, startSearch, testId } from "./harness.ts";

// The read model's write side, as the product and stock event handlers will call it.
const lamp: SearchDocumentInput = {
  productId: testId(0x11),
  name: "Desk Lamp",
  description: "An LED lamp with adjustable color temperature.",
  categoryId: testId(0xc1),
  priceAmount: 4900,
  currency: "USD",
  inStock: true,
};
const inStockLamps = { query: "lamp", filter: { inStock: true } };

describe("search index updates", () => {
  it("upsertDocument makes a product findable and replaces its text on update", async () => {
    await using db = await createTestDatabase(inject("testRun"), "search");
    await using h = await startSearch(db.url);
    await h.index.upsertDocument(lamp);
    expect(idsOf(await search(h, { query: "lamp" }))).toEqual([lamp.productId]);

    await h.index.upsertDocument({ ...lamp, name: "Reading Light", description: "A clip-on light for books." });
    expect(idsOf(await search(h, { query: "lamp" }))).toEqual([]);
    expect(idsOf(await search(h, { query: "reading light" }))).toEqual([lamp.productId]);
    expect(await h.index.count()).toBe(1);
  });

  it("upsertDocument without inStock keeps the stock flag, and a new document starts out of stock", async () => {
    await using db = await createTestDatabase(inject("testRun"), "search");
    await using h = await startSearch(db.url);
    await h.index.upsertDocument(lamp);
    const { inStock: _omit, ...productEvent } = lamp;
    await h.index.upsertDocument({ ...productEvent, priceAmount: 5900 });
    expect(idsOf(await search(h, inStockLamps))).toEqual([lamp.productId]);
    expect(idsOf(await search(h, { query: "lamp", filter: { minPrice: 5900 } }))).toEqual([lamp.productId]);

    const other = { ...productEvent, productId: testId(0x12) };
    await h.index.upsertDocument(other);
    expect(idsOf(await search(h, { query: "lamp", filter: { inStock: false } }))).toEqual([other.productId]);
  });

  it("setStock moves a product in and out of in-stock results; false for an unknown product", async () => {
    await using db = await createTestDatabase(inject("testRun"), "search");
    await using h = await startSearch(db.url);
    await h.index.upsertDocument(lamp);
    expect(await h.index.setStock(lamp.productId, false)).toBe(true);
    expect(idsOf(await search(h, inStockLamps))).toEqual([]);
    expect(await h.index.setStock(lamp.productId, true)).toBe(true);
    expect(idsOf(await search(h, inStockLamps))).toEqual([lamp.productId]);
    expect(await h.index.setStock(testId(0x99), true)).toBe(false);
    expect(await h.index.setStock("not-a-uuid", true)).toBe(false);
  });

  it("removeDocument drops a product from results; false when already gone", async () => {
    await using db = await createTestDatabase(inject("testRun"), "search");
    await using h = await startSearch(db.url);
    await h.index.upsertDocument(lamp);
    expect(await h.index.removeDocument(lamp.productId)).toBe(true);
    expect(await search(h, { query: "lamp" })).toMatchObject({ totalCount: 0, edges: [] });
    expect(await h.index.removeDocument(lamp.productId)).toBe(false);
    expect(await h.index.removeDocument("not-a-uuid")).toBe(false);
  });

  it("rejects an invalid document, or a batch holding one, without writing anything", async () => {
    await using db = await createTestDatabase(inject("testRun"), "search");
    await using h = await startSearch(db.url);
    for (const bad of [
      { ...lamp, productId: "p-1" },
      { ...lamp, categoryId: "" },
      { ...lamp, name: "" },
      { ...lamp, priceAmount: -1 },
      { ...lamp, priceAmount: 1.5 },
      { ...lamp, currency: "usd" },
    ]) {
      const error = await h.index.upsertDocument(bad).catch((e: unknown) => e);
      expect(isInvalidSearchDocumentError(error), JSON.stringify(bad)).toBe(true);
    }
    // A batch is all or nothing.
    const batch = await h.index.upsertDocuments([lamp, { ...lamp, productId: testId(0x12), currency: "" }]).catch((e: unknown) => e);
    expect(isInvalidSearchDocumentError(batch)).toBe(true);
    expect(await h.index.count()).toBe(0);
  });

  it("keeps paging correctly when the row a cursor points at is removed between pages", async () => {
    await using db = await createTestDatabase(inject("testRun"), "search");
    await using h = await startSearch(db.url);
    const lamps = [1, 2, 3, 4].map((n) => ({ ...lamp, productId: testId(0x20 + n), description: "lamp ".repeat(n) }));
    for (const l of lamps) await h.index.upsertDocument(l);
    const first = await search(h, { query: "lamp", first: 2 });
    expect(idsOf(first)).toEqual([testId(0x24), testId(0x23)]);
    await h.index.removeDocument(testId(0x23));
    const rest = await search(h, { query: "lamp", first: 2, after: first.pageInfo.endCursor });
    expect(idsOf(rest)).toEqual([testId(0x22), testId(0x21)]);
    expect(rest.totalCount).toBe(3);
  });
});
