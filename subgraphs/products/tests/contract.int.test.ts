/** The products subgraph keeps the federation contract (packages/testing/src/contract.ts). */
import { randomUUID } from "node:crypto";
import { demoCategories, demoProducts } from "@ecom/demo-data";
import { defineSubgraphContractSuite, seededSubgraph } from "@ecom/testing";
import { seed } from "../src/seed.ts";
import { startProducts } from "./support.ts";

defineSubgraphContractSuite({
  name: "products",
  start: seededSubgraph("products", seed, startProducts),
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
