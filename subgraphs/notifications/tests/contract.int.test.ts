/** The notifications subgraph keeps the federation contract (packages/testing/src/contract.ts). */
import { randomUUID } from "node:crypto";
import { demoUsers } from "@ecom/demo-data";
import { defineSubgraphContractSuite, seededSubgraph, signedHeaders } from "@ecom/testing";
import { seed } from "../src/seed.ts";
import { startNotifications } from "./support.ts";

const alice = demoUsers[0]!;

defineSubgraphContractSuite({
  name: "notifications",
  start: seededSubgraph("notifications", seed, startNotifications),
  // User.notifications is self only: the suite asks as the user.
  headers: signedHeaders("notifications", { userId: alice.id, role: "CUSTOMER" }),
  // notifications only extends User: any user id resolves (to an empty list for anyone but the caller).
  entities: [
    {
      typename: "User",
      key: { id: alice.id },
      missingKey: { id: randomUUID() },
      fields: "id notifications(first: 5) { id channel subject body createdAt readAt }",
      missingResolvesTo: "object",
    },
  ],
});
