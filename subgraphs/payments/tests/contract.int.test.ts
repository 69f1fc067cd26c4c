/** The payments subgraph keeps the federation contract (packages/testing/src/contract.ts). */
import { randomUUID } from "node:crypto";
import { demoOrders } from "@ecom/demo-data";
import { defineSubgraphContractSuite, seededSubgraph, signedHeaders } from "@ecom/testing";
import { seed } from "../src/seed.ts";
import { sql, startPayments } from "./support.ts";

const order = demoOrders[0]!;
// Payment ids are generated when the seed charges (only the order ids are deterministic): filled in by `start`,
// before the suite's tests read the key.
const paymentKey = { id: "" };

defineSubgraphContractSuite({
  name: "payments",
  start: seededSubgraph(
    "payments",
    async (url) => {
      await seed(url);
      const [payment] = await sql<{ id: string }>(url, "SELECT id::text AS id FROM payments WHERE order_id = $1", [order.id]);
      if (!payment) throw new Error(`the seed charged no payment for demo order ${order.key}`);
      paymentKey.id = payment.id;
    },
    startPayments,
  ),
  // A payment is visible to the order's buyer (or an ADMIN) only: the suite asks as the buyer.
  headers: signedHeaders("payments", { userId: order.buyerId, role: "CUSTOMER" }),
  entities: [
    {
      typename: "Payment",
      key: paymentKey,
      missingKey: { id: randomUUID() },
      fields: "id status amount { amount currency } createdAt order { id } declineCode",
    },
    // payments only extends Order: any order id resolves (its payment null when there is none).
    {
      typename: "Order",
      key: { id: order.id },
      missingKey: { id: randomUUID() },
      fields: "id payment { id status amount { amount currency } }",
      missingResolvesTo: "object",
    },
  ],
});
