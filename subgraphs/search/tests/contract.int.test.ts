/** The search subgraph keeps the federation contract (packages/testing/src/contract.ts). */
import { createTestDatabase, defineSubgraphContractSuite } from "@ecom/testing";
import { inject } from "vitest";
import { seed } from "../src/seed.ts";
import { startSearch } from "./harness.ts";

defineSubgraphContractSuite({
  name: "search",
  start: async () => {
    const db = await createTestDatabase(inject("testRun"), "search");
    await seed(db.url);
    const api = await startSearch(db.url);
    return {
      url: api.url,
      stop: async () => {
        await api[Symbol.asyncDispose]();
        await db.drop();
      },
    };
  },
  // search resolves no entity: its Product is `resolvable: false` (it returns references the gateway resolves
  // at products and inventory; tests/e2e/journey.e2e.test.ts checks that join end to end). The suite still checks
  // its SDL, that it composes, and its health and metrics endpoints.
  entities: [],
});
