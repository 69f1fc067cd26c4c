/**
 * Seeds one CAPTURED payment per demo order (@ecom/demo-data: the orders subgraph seeds the same orders), through the
 * payments service. Idempotent: each charge uses the order's charge key, so a second run finds the payments.
 */
import { demoOrders } from "@ecom/demo-data";
import { PaymentsRepository } from "./datasources/payments.ts";
import { createDatabase } from "./datasources/prisma.ts";
import { chargeKeyForOrder, PaymentsService } from "./domain/payments-service.ts";
import { loadEnv } from "./env.ts";
import { SEED_DATABASE_OPTIONS } from "@ecom/db";

/** Charges every CONFIRMED demo order's total into the database at `databaseUrl`. */
export async function seed(databaseUrl: string): Promise<{ payments: number }> {
  const db = createDatabase(databaseUrl, SEED_DATABASE_OPTIONS);
  try {
    const service = new PaymentsService(new PaymentsRepository(db.prisma));
    const confirmed = demoOrders.filter((order) => order.status === "CONFIRMED");
    for (const order of confirmed) {
      const payment = await service.charge(
        {
          orderId: order.id,
          buyerId: order.buyerId,
          amount: order.totalAmount,
          currency: order.currency,
          paymentToken: order.paymentToken,
          idempotencyKey: chargeKeyForOrder(order.id),
        },
        // History: the other services seed their own part of it (notifications included), so no events.
        { at: new Date(order.capturedAt), announce: false },
      );
      if (payment.status !== "CAPTURED") throw new Error(`demo order ${order.key}: payment ${payment.id} is ${payment.status}`);
    }
    return { payments: confirmed.length };
  } finally {
    await db.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const env = loadEnv();
  const result = await seed(env.DATABASE_URL);
  process.stdout.write(`payments: seeded ${result.payments} demo payments\n`);
}
