import { encodeCursor } from "@ecom/service";
import { createTestDatabase, type TestDatabase } from "@ecom/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { SearchDocumentInput } from "../src/datasources/search-index.ts";
import { idsOf, search, SEARCH, startSearch, testId, type SearchHarness } from "./harness.ts";

const CAMPING = testId(0xc1);
const LIGHTING = testId(0xc2);
const AUDIO = testId(0xc3);
const GADGETS = testId(0xc4);

const doc = (
  n: number,
  name: string,
  description: string,
  categoryId: string,
  priceAmount: number,
  inStock: boolean,
): SearchDocumentInput => ({
  productId: testId(n),
  name,
  description,
  categoryId,
  priceAmount,
  currency: "USD",
  inStock,
});

// "tent": in name and description (01), three times in the description only (04), in the name only (03), once in
// the description only (02). ts_rank_cd ranks them 1.4, 1.2, 1.0, 0.4.
const TENT_NAME_AND_DESCRIPTION = testId(0x01);
const TENT_DESCRIPTION_ONCE = testId(0x02);
const TENT_NAME_ONLY = testId(0x03);
const TENT_DESCRIPTION_THRICE = testId(0x04);
const HEADPHONES = testId(0x05);
const SPEAKER = testId(0x06);
const CHARGER = testId(0x07);
const EARBUDS = testId(0x08);

const catalog: SearchDocumentInput[] = [
  doc(0x01, "Alpine Tent", "A tent for the mountains.", CAMPING, 20000, true),
  doc(0x02, "Camping Chair", "Folds flat and pairs well with any tent.", CAMPING, 4500, true),
  doc(0x03, "Tent Pegs", "Steel pegs, sold in a pack of ten.", CAMPING, 900, false),
  doc(0x04, "Trail Lantern", "A lantern for tent camping: hang it inside the tent or by the tent door.", LIGHTING, 2500, true),
  doc(0x05, "Wireless Headphones", "Over-ear headphones with noise cancelling.", AUDIO, 12900, true),
  doc(0x06, "Bluetooth Speaker", "Wireless speaker with deep bass.", AUDIO, 7900, false),
  doc(0x07, "Wireless Charger", "Charges headphones and phones without cables.", AUDIO, 2900, true),
  doc(0x08, "Sport Earbuds", "Sweat-proof earbuds for running.", AUDIO, 4900, true),
];

// 23 gadgets: "gadget" once in the name and k = i % 4 times in the description, so ranks come in four groups of
// equal values (1.0, 1.4, 1.8, 2.2: not exact binary fractions) and pages of 4 end inside groups of ties.
const gadgets = Array.from({ length: 23 }, (_, i) => {
  const k = i % 4;
  const description = k === 0 ? "A useful device." : `A ${Array.from({ length: k }, () => "gadget").join(" and a ")}.`;
  return { k, doc: doc(0x100 + i, `Gadget Model ${i}`, description, GADGETS, 1000 + i, i % 3 !== 0) };
});
// Best first, ties by id ascending (ids are zero-padded hex, so string order is uuid order).
const gadgetOrder = (list: typeof gadgets) =>
  [...list].sort((a, b) => b.k - a.k || a.doc.productId.localeCompare(b.doc.productId)).map((g) => g.doc.productId);

let db: TestDatabase;
let h: SearchHarness;
beforeAll(async () => {
  db = await createTestDatabase(inject("testRun"), "search");
  h = await startSearch(db.url, [...catalog, ...gadgets.map((g) => g.doc)]);
});
afterAll(async () => {
  await h?.[Symbol.asyncDispose]();
  await db?.drop();
});

describe("search ranking", () => {
  it("ranks a name match above a description-only match, and more matches higher", async () => {
    const page = await search(h, { query: "tent" });
    expect(idsOf(page)).toEqual([TENT_NAME_AND_DESCRIPTION, TENT_DESCRIPTION_THRICE, TENT_NAME_ONLY, TENT_DESCRIPTION_ONCE]);
    expect(page.totalCount).toBe(4);
  });

  it("returns product references only, for the gateway to complete", async () => {
    const res = await h.gql<{ search: { edges: Array<{ node: Record<string, unknown> }> } }>(
      `{ search(query: "earbuds") { edges { node { __typename id } } } }`,
    );
    expect(res.data?.search.edges).toEqual([{ node: { __typename: "Product", id: EARBUDS } }]);
  });

  it("matches stemmed words regardless of case", async () => {
    expect(idsOf(await search(h, { query: "TENTS" }))).toEqual(idsOf(await search(h, { query: "tent" })));
  });
});

describe("search filters", () => {
  const tent = (filter: Record<string, unknown>) => search(h, { query: "tent", filter });

  it("filters by category", async () => {
    const page = await tent({ categoryId: CAMPING });
    expect(idsOf(page)).toEqual([TENT_NAME_AND_DESCRIPTION, TENT_NAME_ONLY, TENT_DESCRIPTION_ONCE]);
    expect(page.totalCount).toBe(3);
  });

  it("filters by minimum price, inclusive", async () => {
    expect(idsOf(await tent({ minPrice: 2500 }))).toEqual([TENT_NAME_AND_DESCRIPTION, TENT_DESCRIPTION_THRICE, TENT_DESCRIPTION_ONCE]);
  });

  it("filters by maximum price, inclusive", async () => {
    expect(idsOf(await tent({ maxPrice: 4500 }))).toEqual([TENT_DESCRIPTION_THRICE, TENT_NAME_ONLY, TENT_DESCRIPTION_ONCE]);
  });

  it("accepts equal minimum and maximum prices", async () => {
    expect(idsOf(await tent({ minPrice: 2500, maxPrice: 2500 }))).toEqual([TENT_DESCRIPTION_THRICE]);
  });

  it("filters by stock: in stock, or sold out", async () => {
    expect(idsOf(await tent({ inStock: true }))).toEqual([TENT_NAME_AND_DESCRIPTION, TENT_DESCRIPTION_THRICE, TENT_DESCRIPTION_ONCE]);
    expect(idsOf(await tent({ inStock: false }))).toEqual([TENT_NAME_ONLY]);
  });

  it("combines every filter, and counts only what all of them keep", async () => {
    const inStock = await tent({ categoryId: CAMPING, minPrice: 900, maxPrice: 4500, inStock: true });
    expect(idsOf(inStock)).toEqual([TENT_DESCRIPTION_ONCE]);
    expect(inStock.totalCount).toBe(1);
    expect(idsOf(await tent({ categoryId: CAMPING, minPrice: 900, maxPrice: 4500, inStock: false }))).toEqual([TENT_NAME_ONLY]);
  });

  it("treats null filter fields as no filter", async () => {
    const page = await tent({ categoryId: null, minPrice: null, maxPrice: null, inStock: null });
    expect(idsOf(page)).toEqual(idsOf(await search(h, { query: "tent", filter: null })));
    expect(page.totalCount).toBe(4);
  });

  it("returns nothing for a category without products", async () => {
    expect(await tent({ categoryId: testId(0xdead) })).toEqual({
      totalCount: 0,
      edges: [],
      pageInfo: { hasNextPage: false, endCursor: null },
    });
  });
});

describe("search pagination", () => {
  async function walk(variables: Record<string, unknown>, first: number) {
    const seen: string[] = [];
    const totals = new Set<number>();
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const page = await search(h, { ...variables, first, after });
      pages++;
      seen.push(...idsOf(page));
      totals.add(page.totalCount);
      expect(page.edges.length).toBeLessThanOrEqual(first);
      expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor ?? null);
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
      expect(pages).toBeLessThan(50);
    }
    return { seen, totals: [...totals], pages };
  }

  it("visits every match exactly once, in rank order, across pages that split groups of equal rank", async () => {
    const { seen, totals, pages } = await walk({ query: "gadget" }, 4);
    expect(seen).toEqual(gadgetOrder(gadgets));
    expect(new Set(seen).size).toBe(23);
    expect(totals).toEqual([23]);
    expect(pages).toBe(6);
  });

  it("pages through a filtered search the same way", async () => {
    const { seen, totals } = await walk({ query: "gadget", filter: { inStock: true } }, 3);
    const expected = gadgetOrder(gadgets.filter((g) => g.doc.inStock));
    expect(seen).toEqual(expected);
    expect(totals).toEqual([expected.length]);
  });

  it("gives the same order in one big page as in small ones", async () => {
    const all = await search(h, { query: "gadget", first: 100 });
    expect(idsOf(all)).toEqual(gadgetOrder(gadgets));
    expect(all.pageInfo.hasNextPage).toBe(false);
  });

  it("with first: 0 returns no edges but tells whether matches exist, and the total", async () => {
    expect(await search(h, { query: "gadget", first: 0 })).toEqual({
      totalCount: 23,
      edges: [],
      pageInfo: { hasNextPage: true, endCursor: null },
    });
  });

  it("returns an empty last page after the last match", async () => {
    const all = await search(h, { query: "tent", first: 4 });
    expect(all.pageInfo.hasNextPage).toBe(false);
    const after = await search(h, { query: "tent", first: 4, after: all.pageInfo.endCursor });
    expect(after).toEqual({ totalCount: 4, edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });
});

describe("web-search syntax", () => {
  it("requires every word by default", async () => {
    expect(new Set(idsOf(await search(h, { query: "wireless headphones" })))).toEqual(new Set([HEADPHONES, CHARGER]));
  });

  it("matches a quoted phrase only where the words are adjacent", async () => {
    expect(idsOf(await search(h, { query: '"wireless headphones"' }))).toEqual([HEADPHONES]);
  });

  it("excludes -word", async () => {
    expect(new Set(idsOf(await search(h, { query: "wireless" })))).toEqual(new Set([HEADPHONES, SPEAKER, CHARGER]));
    expect(new Set(idsOf(await search(h, { query: "wireless -speaker" })))).toEqual(new Set([HEADPHONES, CHARGER]));
  });

  it("matches either side of or", async () => {
    expect(new Set(idsOf(await search(h, { query: "earbuds or speaker" })))).toEqual(new Set([EARBUDS, SPEAKER]));
  });

  it("treats tsquery operators in the input as text, never as syntax errors", async () => {
    const page = await search(h, { query: "tent & | ! :* ( <-> )) \\ '" });
    expect(page.totalCount).toBe(4);
  });
});

describe("empty results", () => {
  const empty = { totalCount: 0, edges: [], pageInfo: { hasNextPage: false, endCursor: null } };

  it("returns an empty connection when nothing matches", async () => {
    expect(await search(h, { query: "zebra" })).toEqual(empty);
  });

  it("returns an empty connection for stop words or punctuation only", async () => {
    expect(await search(h, { query: "the and of" })).toEqual(empty);
    expect(await search(h, { query: "-" })).toEqual(empty);
  });
});

describe("bad input", () => {
  const anId = testId(0x01);
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ["an empty query", { query: "" }, "query"],
    ["a whitespace-only query", { query: " \t\n " }, "query"],
    ["a query longer than 200 characters", { query: "a".repeat(201) }, "query"],
    ["minPrice above maxPrice", { query: "tent", filter: { minPrice: 5000, maxPrice: 100 } }, "filter.minPrice"],
    ["a negative minPrice", { query: "tent", filter: { minPrice: -1 } }, "filter.minPrice"],
    ["a negative maxPrice", { query: "tent", filter: { maxPrice: -1 } }, "filter.maxPrice"],
    ["a categoryId that is not a UUID", { query: "tent", filter: { categoryId: "42" } }, "filter.categoryId"],
    ["a negative first", { query: "tent", first: -1 }, "first"],
    ["first over 100", { query: "tent", first: 101 }, "first"],
    ["a cursor that is not one", { query: "tent", after: "not-a-cursor" }, "after"],
    ["a cursor with a rank out of float4 range", { query: "tent", after: encodeCursor({ rank: "1e999", id: anId }) }, "after"],
    ["a cursor with a bad id", { query: "tent", after: encodeCursor({ rank: "1", id: "1; DROP TABLE x" }) }, "after"],
  ];

  it.each(cases)("refuses %s with BAD_USER_INPUT", async (_name, variables, field) => {
    const res = await h.gql(SEARCH, variables);
    expect(res.status).toBe(200);
    expect(res.data).toBeNull();
    expect(res.errors).toHaveLength(1);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field });
  });

  it.each([
    ["a NUL character", "tent\u0000"],
    ["a lone surrogate", "tent\uD800"],
  ])("refuses a query with %s before executing: BAD_USER_INPUT, HTTP 400 (the subgraph's own limits plugin)", async (_name, query) => {
    const res = await h.gql(SEARCH, { query });
    expect(res.status).toBe(400);
    expect(res.data).toBeUndefined();
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "query" });
  });

  it("accepts a query of exactly 200 characters, and first of 0 and 100", async () => {
    expect((await search(h, { query: "a".repeat(200) })).totalCount).toBe(0);
    expect((await search(h, { query: `${" ".repeat(150)}tent${" ".repeat(46)}` })).totalCount).toBe(4);
    expect((await search(h, { query: "tent", first: 100 })).edges).toHaveLength(4);
  });
});
