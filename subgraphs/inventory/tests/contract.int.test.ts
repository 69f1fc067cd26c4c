/** The inventory subgraph keeps the federation contract (packages/testing/src/contract.ts). */
import { randomUUID } from "node:crypto";
import { demoProducts } from "@ecom/demo-data";
import { defineSubgraphContractSuite, seededSubgraph } from "@ecom/testing";
import { seed } from "../src/seed.ts";
import { startInventory } from "./support.ts";

defineSubgraphContractSuite({
  name: "inventory",
  start: seededSubgraph("inventory", seed, startInventory),
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
