/** The orders subgraph keeps the federation contract (packages/testing/src/contract.ts). */
import { randomUUID } from "node:crypto";
import { demoOrders } from "@ecom/demo-data";
import { defineSubgraphContractSuite, getFreePort, seededSubgraph, signedHeaders } from "@ecom/testing";
import { seed } from "../src/seed.ts";
import { startOrders } from "./support.ts";

const order = demoOrders[0]!;

defineSubgraphContractSuite({
  name: "orders",
  // Reads never ask products (only placeOrder does, for prices): nothing needs to listen there.
  start: seededSubgraph("orders", seed, async (url) => startOrders(url, `http://127.0.0.1:${await getFreePort()}/graphql`)),
  // An order and a user's orders are visible to the buyer (or an ADMIN) only: the suite asks as the buyer.
  headers: signedHeaders("orders", { userId: order.buyerId, role: "CUSTOMER" }),
  entities: [
    {
      typename: "Order",
      key: { id: order.id },
      missingKey: { id: randomUUID() },
      fields:
        "id status total { amount currency } buyer { id } createdAt items { product { id } quantity unitPrice { amount currency } } timeline { at step status detail }",
    },
    // orders only extends User: any user id resolves (to an empty list for anyone but the caller).
    {
      typename: "User",
      key: { id: order.buyerId },
      missingKey: { id: randomUUID() },
      fields: "id orders(first: 5) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id status } } }",
      missingResolvesTo: "object",
    },
  ],
});
