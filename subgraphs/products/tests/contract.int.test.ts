/** The products subgraph keeps the federation contract (packages/testing/src/contract.ts). */
import { randomUUID } from "node:crypto";
import { demoCategories, demoProducts } from "@ecom/demo-data";
import { createTestDatabase, defineSubgraphContractSuite } from "@ecom/testing";
import { inject } from "vitest";
import { seed } from "../src/seed.ts";
import { startProducts } from "./support.ts";

defineSubgraphContractSuite({
  name: "products",
  start: async () => {
    const db = await createTestDatabase(inject("testRun"), "products");
    await seed(db.url);
    const api = await startProducts(db.url);
    return {
      url: api.url,
      stop: async () => {
        await api[Symbol.asyncDispose]();
        await db.drop();
      },
    };
  },
  entities: [
    {
      typename: "Product",
      key: { id: demoProducts[0]!.id },
      missingKey: { id: randomUUID() },
      fields: "id sku name description price { amount currency } category { id name slug }",
    },
    { typename: "Category", key: { id: demoCategories[0]!.id }, missingKey: { id: randomUUID() }, fields: "id name slug" },
  ],
});
