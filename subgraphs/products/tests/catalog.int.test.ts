import { demoCategories, demoProducts } from "@ecom/demo-data";
import { createTestDatabase } from "@ecom/testing";
import { describe, expect, inject, it } from "vitest";
import { seed } from "../src/seed.ts";
import { ADMIN, expectRefusedBeforeTheDatabase, sql, startProducts, type GraphQLResponse, type RunningProducts } from "./support.ts";

const run = inject("testRun");

const PAGE = /* GraphQL */ `
  query Page($first: Int, $after: String, $categoryId: ID) {
    products(first: $first, after: $after, categoryId: $categoryId) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        cursor
        node {
          id
          sku
          name
          price {
            amount
            currency
          }
          category {
            id
            slug
          }
        }
      }
    }
  }
`;

interface Page {
  products: {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    edges: Array<{
      cursor: string;
      node: { id: string; sku: string; name: string; price: { amount: number; currency: string }; category: { id: string; slug: string } };
    }>;
  };
}

/** Follows endCursor (from `after`) until hasNextPage is false; returns every page. */
async function allPages(api: RunningProducts, variables: { first: number; categoryId?: string }, from: string | null = null) {
  const pages: Page["products"][] = [];
  let after = from;
  for (let i = 0; i < 50; i++) {
    const res: GraphQLResponse<Page> = await api.gql<Page>(PAGE, { ...variables, after });
    expect(res.errors).toBeUndefined();
    const page: Page["products"] = res.data!.products;
    pages.push(page);
    if (!page.pageInfo.hasNextPage) return pages;
    after = page.pageInfo.endCursor;
  }
  throw new Error("pagination never ended");
}

/** Product ids in the database's own catalog order (name, id), read with plain SQL. */
async function idsInCatalogOrder(url: string, categoryId?: string): Promise<string[]> {
  const rows = categoryId
    ? await sql<{ id: string }>(url, "SELECT id::text FROM products WHERE category_id = $1 ORDER BY name, id", [categoryId])
    : await sql<{ id: string }>(url, "SELECT id::text FROM products ORDER BY name, id");
  return rows.map((r) => r.id);
}

const electronics = demoCategories.find((c) => c.slug === "electronics")!;
const sample = demoProducts[7]!;

describe("products catalog queries", () => {
  it("pages through all 225 demo products in name order with no duplicates and no gaps", async () => {
    await using db = await createTestDatabase(run, "products");
    await seed(db.url);
    await using api = await startProducts(db.url);

    const pages = await allPages(api, { first: 40 });
    expect(pages.map((p) => p.edges.length)).toEqual([40, 40, 40, 40, 40, 25]);
    expect(pages.every((p) => p.totalCount === 225)).toBe(true);
    const ids = pages.flatMap((p) => p.edges.map((e) => e.node.id));
    expect(new Set(ids).size).toBe(225);
    expect(ids).toEqual(await idsInCatalogOrder(db.url));
    expect(new Set(ids)).toEqual(new Set(demoProducts.map((p) => p.id)));
    // endCursor is the last edge's cursor; the last page has no next page.
    for (const page of pages) expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)!.cursor);
    expect(pages.at(-1)!.pageInfo.hasNextPage).toBe(false);
  });

  it("filters by category across pages, with totalCount counting only that category", async () => {
    await using db = await createTestDatabase(run, "products");
    await seed(db.url);
    await using api = await startProducts(db.url);

    const pages = await allPages(api, { first: 10, categoryId: electronics.id });
    expect(pages.map((p) => p.edges.length)).toEqual([10, 10, 5]);
    expect(pages.every((p) => p.totalCount === 25)).toBe(true);
    const nodes = pages.flatMap((p) => p.edges.map((e) => e.node));
    expect(nodes.every((n) => n.category.id === electronics.id && n.category.slug === "electronics")).toBe(true);
    expect(nodes.map((n) => n.id)).toEqual(await idsInCatalogOrder(db.url, electronics.id));
  });

  it("keeps later pages free of duplicates when a product is added before the cursor between two pages", async () => {
    await using db = await createTestDatabase(run, "products");
    await seed(db.url);
    await using api = await startProducts(db.url);

    const first = await api.gql<Page>(PAGE, { first: 100 });
    const created = await api.gql<{ createProduct: { id: string } }>(
      `mutation { createProduct(input: { sku: "NEW-0001", name: "AAA First By Name", description: "", priceAmount: 100, categoryId: "${electronics.id}" }) { id } }`,
      {},
      ADMIN,
    );
    expect(created.errors).toBeUndefined();
    const rest = await allPages(api, { first: 100 }, first.data!.products.pageInfo.endCursor);
    const ids = [...first.data!.products.edges, ...rest.flatMap((p) => p.edges)].map((e) => e.node.id);
    expect(ids).toHaveLength(225);
    expect(new Set(ids).size).toBe(225);
    expect(rest.at(-1)!.totalCount).toBe(226);
  });

  it("returns an empty page for an unknown category and a first of 0 with hasNextPage", async () => {
    await using db = await createTestDatabase(run, "products");
    await seed(db.url);
    await using api = await startProducts(db.url);

    const unknown = await api.gql<Page>(PAGE, { first: 5, categoryId: "6f1c2a57-0000-4000-8000-000000000000" });
    expect(unknown.data!.products).toEqual({ totalCount: 0, pageInfo: { hasNextPage: false, endCursor: null }, edges: [] });
    const none = await api.gql<Page>(PAGE, { first: 0 });
    expect(none.data!.products).toEqual({ totalCount: 225, pageInfo: { hasNextPage: true, endCursor: null }, edges: [] });
    const byDefault = await api.gql<Page>(`{ products { edges { cursor } } }`);
    expect(byDefault.data!.products.edges).toHaveLength(20);
  });

  it.each([
    ["first above 100", { first: 101 }, "first"],
    ["negative first", { first: -1 }, "first"],
    ["a tampered cursor", { first: 5, after: Buffer.from('{"n":1}').toString("base64url") }, "after"],
    ["a cursor that is not base64 JSON", { first: 5, after: "not-a-cursor" }, "after"],
    ["a cursor with a malformed id", { first: 5, after: Buffer.from('{"n":"A","i":"x"}').toString("base64url") }, "after"],
    ["a malformed categoryId", { first: 5, categoryId: "electronics" }, "categoryId"],
  ])("refuses %s with BAD_USER_INPUT and no database statement", async (_name, variables, field) => {
    await expectRefusedBeforeTheDatabase(PAGE, variables, field);
  });

  it("reads a product by id with its price in minor units and its category; unknown and malformed ids are null", async () => {
    await using db = await createTestDatabase(run, "products");
    await seed(db.url);
    await using api = await startProducts(db.url);

    const res = await api.gql(
      `query($id: ID!) {
        product(id: $id) { id sku name description price { amount currency } category { id name slug } }
        unknown: product(id: "6f1c2a57-0000-4000-8000-000000000000") { id }
        malformed: product(id: "42") { id }
      }`,
      { id: sample.id },
    );
    expect(res.errors).toBeUndefined();
    const category = demoCategories.find((c) => c.id === sample.categoryId)!;
    expect(res.data).toEqual({
      product: {
        id: sample.id,
        sku: sample.sku,
        name: sample.name,
        description: sample.description,
        price: { amount: sample.priceAmount, currency: "USD" },
        category: { id: category.id, name: category.name, slug: category.slug },
      },
      unknown: null,
      malformed: null,
    });
  });

  it("lists the 9 demo categories by name", async () => {
    await using db = await createTestDatabase(run, "products");
    await seed(db.url);
    await using api = await startProducts(db.url);
    const res = await api.gql<{ categories: Array<{ id: string; name: string; slug: string }> }>(`{ categories { id name slug } }`);
    expect(res.data!.categories).toHaveLength(9);
    expect(new Set(res.data!.categories.map((c) => c.id))).toEqual(new Set(demoCategories.map((c) => c.id)));
    const names = res.data!.categories.map((c) => c.name);
    expect(names[0]).toBe("Beauty & Personal Care");
    expect(names.at(-1)).toBe("Toys & Games");
  });

  it("reads a full page with its categories in 2 statements, plus 1 only when totalCount is asked", async () => {
    await using db = await createTestDatabase(run, "products");
    await seed(db.url);
    await using api = await startProducts(db.url);

    api.resetStatements();
    const res = await api.gql<Page>(`{ products(first: 100) { edges { node { id category { id name } } } } }`);
    expect(res.data!.products.edges).toHaveLength(100);
    expect(api.statements).toHaveLength(2);

    api.resetStatements();
    await api.gql<Page>(PAGE, { first: 100 });
    expect(api.statements).toHaveLength(3);
  });
});

describe("products entity references (_entities)", () => {
  const ENTITIES = /* GraphQL */ `
    query ($representations: [_Any!]!) {
      _entities(representations: $representations) {
        __typename
        ... on Product {
          id
          sku
          price {
            amount
            currency
          }
          category {
            id
            slug
          }
        }
        ... on Category {
          id
          name
          slug
        }
      }
    }
  `;

  it("resolves 25 Product references and their categories in one statement each; unknown and malformed ids are null", async () => {
    await using db = await createTestDatabase(run, "products");
    await seed(db.url);
    await using api = await startProducts(db.url);

    const wanted = demoProducts.slice(0, 200).filter((_, i) => i % 8 === 0);
    expect(wanted).toHaveLength(25);
    const representations = [
      ...wanted.map((p) => ({ __typename: "Product", id: p.id })),
      { __typename: "Product", id: "6f1c2a57-0000-4000-8000-000000000000" },
      { __typename: "Product", id: "not-a-uuid" },
    ];
    api.resetStatements();
    const res = await api.gql<{
      _entities: Array<{ id: string; sku: string; price: { amount: number }; category: { id: string } } | null>;
    }>(ENTITIES, {
      representations,
    });
    expect(res.errors).toBeUndefined();
    expect(res.data!._entities.slice(0, 25).map((e) => [e!.id, e!.sku, e!.price.amount, e!.category.id])).toEqual(
      wanted.map((p) => [p.id, p.sku, p.priceAmount, p.categoryId]),
    );
    expect(res.data!._entities.slice(25)).toEqual([null, null]);
    // One SELECT on products for the 25 references, one on categories for their 5 distinct categories.
    expect(api.statements).toHaveLength(2);
    expect(api.statements[0]).toMatch(/FROM "public"\."products"/);
    expect(api.statements[1]).toMatch(/FROM "public"\."categories"/);
  });

  it("resolves Category references in one statement; an unknown id is null", async () => {
    await using db = await createTestDatabase(run, "products");
    await seed(db.url);
    await using api = await startProducts(db.url);

    api.resetStatements();
    const res = await api.gql<{ _entities: Array<{ id: string; slug: string } | null> }>(ENTITIES, {
      representations: [
        ...demoCategories.map((c) => ({ __typename: "Category", id: c.id })),
        { __typename: "Category", id: "6f1c2a57-0000-4000-8000-000000000000" },
      ],
    });
    expect(res.errors).toBeUndefined();
    expect(res.data!._entities.map((c) => c?.slug ?? null)).toEqual([...demoCategories.map((c) => c.slug), null]);
    expect(api.statements).toHaveLength(1);
  });
});

describe("products seed", () => {
  it("is idempotent: seeding twice leaves 9 categories and 225 products with the demo values", async () => {
    await using db = await createTestDatabase(run, "products");
    expect(await seed(db.url)).toEqual({ categories: 9, products: 225 });
    expect(await seed(db.url)).toEqual({ categories: 9, products: 225 });
    const [counts] = await sql(
      db.url,
      "SELECT (SELECT count(*)::int FROM categories) AS categories, (SELECT count(*)::int FROM products) AS products",
    );
    expect(counts).toEqual({ categories: 9, products: 225 });
    const [one] = await sql(db.url, "SELECT sku, price_amount, category_id::text FROM products WHERE id = $1", [sample.id]);
    expect(one).toEqual({ sku: sample.sku, price_amount: sample.priceAmount, category_id: sample.categoryId });
  });
});
