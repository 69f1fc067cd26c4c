import { demoCategories, demoProducts } from "@ecom/demo-data";
import { createTestDatabase } from "@ecom/testing";
import { describe, expect, inject, it } from "vitest";
import { seed } from "../src/seed.ts";
import { ADMIN, CUSTOMER, codesOf, expectRefusedBeforeTheDatabase, startProducts, type RunningProducts } from "./support.ts";

const run = inject("testRun");

const CREATE = /* GraphQL */ `
  mutation Create($input: CreateProductInput!) {
    createProduct(input: $input) {
      id
      sku
      name
      description
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
`;
const UPDATE = /* GraphQL */ `
  mutation Update($id: ID!, $input: UpdateProductInput!) {
    updateProduct(id: $id, input: $input) {
      id
      sku
      name
      price {
        amount
        currency
      }
      category {
        id
      }
    }
  }
`;

const books = demoCategories.find((c) => c.slug === "books")!;
const existing = demoProducts[0]!;
const valid = {
  sku: "BOO-9901",
  name: "Atlas of Remote Islands",
  description: "A beautiful atlas.",
  priceAmount: 3450,
  categoryId: books.id,
};

async function productCount(api: RunningProducts): Promise<number> {
  const res = await api.gql<{ products: { totalCount: number } }>(`{ products(first: 0) { totalCount } }`);
  return res.data!.products.totalCount;
}

describe("createProduct", () => {
  it("lets an ADMIN create a product, priced in USD by default, readable right after", async () => {
    await using db = await createTestDatabase(run, "products");
    await seed(db.url);
    await using api = await startProducts(db.url);

    const res = await api.gql<{ createProduct: { id: string } }>(CREATE, { input: valid }, ADMIN);
    expect(res.errors).toBeUndefined();
    expect(res.data!.createProduct).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      sku: "BOO-9901",
      name: "Atlas of Remote Islands",
      description: "A beautiful atlas.",
      price: { amount: 3450, currency: "USD" },
      category: { id: books.id, slug: "books" },
    });
    const read = await api.gql(`query($id: ID!) { product(id: $id) { sku price { amount currency } } }`, {
      id: res.data!.createProduct.id,
    });
    expect(read.data).toEqual({ product: { sku: "BOO-9901", price: { amount: 3450, currency: "USD" } } });
    const eur = await api.gql(CREATE, { input: { ...valid, sku: "BOO-9902", currency: "EUR" } }, ADMIN);
    expect(eur.data).toMatchObject({ createProduct: { price: { amount: 3450, currency: "EUR" } } });
    expect(await productCount(api)).toBe(227);
  });

  it.each([
    ["a CUSTOMER", "FORBIDDEN", CUSTOMER],
    ["an anonymous caller", "UNAUTHENTICATED", null],
  ])("refuses %s with %s and writes nothing", async (_who, code, identity) => {
    await using db = await createTestDatabase(run, "products");
    await using api = await startProducts(db.url);
    api.resetStatements();
    const res = await api.gql(CREATE, { input: valid }, identity);
    expect(res.data).toBeNull();
    expect(codesOf(res)).toEqual([code]);
    expect(api.statements).toEqual([]);
  });

  it.each([
    ["a lower-case sku", { sku: "boo-9901" }, "input.sku"],
    ["a sku with spaces", { sku: "BOO 9901" }, "input.sku"],
    ["a too short sku", { sku: "AB" }, "input.sku"],
    ["a too long sku", { sku: `A-${"B".repeat(31)}` }, "input.sku"],
    ["an empty name", { name: "   " }, "input.name"],
    ["a 201-character name", { name: "x".repeat(201) }, "input.name"],
    ["a 5001-character description", { description: "x".repeat(5001) }, "input.description"],
    ["a zero price", { priceAmount: 0 }, "input.priceAmount"],
    ["a negative price", { priceAmount: -100 }, "input.priceAmount"],
    ["a price above the cap", { priceAmount: 100_000_001 }, "input.priceAmount"],
    ["a lower-case currency", { currency: "usd" }, "input.currency"],
    ["a four-letter currency", { currency: "USDT" }, "input.currency"],
    ["a malformed categoryId", { categoryId: "books" }, "input.categoryId"],
  ])("refuses %s with BAD_USER_INPUT before touching the database", async (_name, change, field) => {
    await expectRefusedBeforeTheDatabase(CREATE, { input: { ...valid, ...change } }, field, ADMIN);
  });

  it("accepts the limits: 1-character name, 5000-character description, empty description, the price cap", async () => {
    await using db = await createTestDatabase(run, "products");
    await seed(db.url);
    await using api = await startProducts(db.url);
    const a = await api.gql(
      CREATE,
      { input: { ...valid, sku: "LIM-1", name: "A", description: "d".repeat(5000), priceAmount: 100_000_000 } },
      ADMIN,
    );
    const b = await api.gql(CREATE, { input: { ...valid, sku: "LIM-2", name: "n".repeat(200), description: "", priceAmount: 1 } }, ADMIN);
    expect(a.errors).toBeUndefined();
    expect(b.errors).toBeUndefined();
  });

  it("refuses a SKU already in use with BAD_USER_INPUT and writes nothing", async () => {
    await using db = await createTestDatabase(run, "products");
    await seed(db.url);
    await using api = await startProducts(db.url);
    const res = await api.gql(CREATE, { input: { ...valid, sku: existing.sku } }, ADMIN);
    expect(codesOf(res)).toEqual(["BAD_USER_INPUT"]);
    expect(res.errors![0]!.extensions!.field).toBe("input.sku");
    expect(await productCount(api)).toBe(225);
  });

  it("lets exactly one of 8 concurrent creates of one SKU succeed", async () => {
    await using db = await createTestDatabase(run, "products");
    await seed(db.url);
    await using api = await startProducts(db.url);
    const results = await Promise.all(Array.from({ length: 8 }, () => api.gql(CREATE, { input: valid }, ADMIN)));
    expect(results.filter((r) => !r.errors)).toHaveLength(1);
    expect(results.flatMap(codesOf).sort()).toEqual(Array(7).fill("BAD_USER_INPUT"));
    expect(await productCount(api)).toBe(226);
  });

  it("refuses an unknown categoryId with BAD_USER_INPUT and writes nothing", async () => {
    await using db = await createTestDatabase(run, "products");
    await seed(db.url);
    await using api = await startProducts(db.url);
    const res = await api.gql(CREATE, { input: { ...valid, categoryId: "6f1c2a57-0000-4000-8000-000000000000" } }, ADMIN);
    expect(codesOf(res)).toEqual(["BAD_USER_INPUT"]);
    expect(res.errors![0]!.extensions!.field).toBe("input.categoryId");
    expect(await productCount(api)).toBe(225);
  });
});

describe("updateProduct", () => {
  it("lets an ADMIN change some fields and keeps the others", async () => {
    await using db = await createTestDatabase(run, "products");
    await seed(db.url);
    await using api = await startProducts(db.url);
    const res = await api.gql(UPDATE, { id: existing.id, input: { priceAmount: 999, categoryId: books.id } }, ADMIN);
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({
      updateProduct: {
        id: existing.id,
        sku: existing.sku,
        name: existing.name,
        price: { amount: 999, currency: "USD" },
        category: { id: books.id },
      },
    });
  });

  it("refuses CUSTOMER (FORBIDDEN) and anonymous (UNAUTHENTICATED) callers", async () => {
    await using db = await createTestDatabase(run, "products");
    await seed(db.url);
    await using api = await startProducts(db.url);
    expect(codesOf(await api.gql(UPDATE, { id: existing.id, input: { priceAmount: 1 } }, CUSTOMER))).toEqual(["FORBIDDEN"]);
    expect(codesOf(await api.gql(UPDATE, { id: existing.id, input: { priceAmount: 1 } }, null))).toEqual(["UNAUTHENTICATED"]);
    const read = await api.gql(`query($id: ID!) { product(id: $id) { price { amount } } }`, { id: existing.id });
    expect(read.data).toEqual({ product: { price: { amount: existing.priceAmount } } });
  });

  it("answers NOT_FOUND for unknown and malformed ids, BAD_USER_INPUT for a taken SKU, an explicit null or a bad price", async () => {
    await using db = await createTestDatabase(run, "products");
    await seed(db.url);
    await using api = await startProducts(db.url);
    expect(codesOf(await api.gql(UPDATE, { id: "6f1c2a57-0000-4000-8000-000000000000", input: { priceAmount: 1 } }, ADMIN))).toEqual([
      "NOT_FOUND",
    ]);
    expect(codesOf(await api.gql(UPDATE, { id: "nope", input: { priceAmount: 1 } }, ADMIN))).toEqual(["NOT_FOUND"]);
    expect(codesOf(await api.gql(UPDATE, { id: existing.id, input: { sku: demoProducts[1]!.sku } }, ADMIN))).toEqual(["BAD_USER_INPUT"]);
    expect(codesOf(await api.gql(UPDATE, { id: existing.id, input: { name: null } }, ADMIN))).toEqual(["BAD_USER_INPUT"]);
    expect(codesOf(await api.gql(UPDATE, { id: existing.id, input: { priceAmount: 0 } }, ADMIN))).toEqual(["BAD_USER_INPUT"]);
    expect(
      codesOf(await api.gql(UPDATE, { id: existing.id, input: { categoryId: "6f1c2a57-0000-4000-8000-000000000000" } }, ADMIN)),
    ).toEqual(["BAD_USER_INPUT"]);
  });
});
