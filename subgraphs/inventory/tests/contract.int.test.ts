/** The inventory subgraph keeps the federation contract (packages/testing/src/contract.ts). */
import { randomUUID } from "node:crypto";
import { demoProducts } from "@ecom/demo-data";
import { createTestDatabase, defineSubgraphContractSuite } from "@ecom/testing";
import { inject } from "vitest";
import { seed } from "../src/seed.ts";
import { startInventory } from "./support.ts";

defineSubgraphContractSuite({
  name: "inventory",
  start: async () => {
    const db = await createTestDatabase(inject("testRun"), "inventory");
    await seed(db.url);
    const api = await startInventory(db.url);
    return {
      url: api.url,
      stop: async () => {
        await api[Symbol.asyncDispose]();
        await db.drop();
      },
    };
  },
  // A product inventory has never stocked is out of stock, not missing: the catalog still renders it.
  entities: [
    {
      typename: "Product",
      key: { id: demoProducts[0]!.id },
      missingKey: { id: randomUUID() },
      fields: "id stock inStock",
      missingResolvesTo: "object",
    },
  ],
});
