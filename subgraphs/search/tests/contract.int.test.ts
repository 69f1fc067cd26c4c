/** The search subgraph keeps the federation contract (packages/testing/src/contract.ts). */
import { defineSubgraphContractSuite, seededSubgraph } from "@ecom/testing";
import { seed } from "../src/seed.ts";
import { startSearch } from "./harness.ts";

defineSubgraphContractSuite({
  name: "search",
  start: seededSubgraph("search", seed, startSearch),
  // search resolves no entity: its Product is `resolvable: false` (it returns references the gateway resolves
  // at products and inventory; tests/e2e/journey.e2e.test.ts checks that join end to end). The suite still checks
  // its SDL, that it composes, and its health and metrics endpoints.
  entities: [],
});
