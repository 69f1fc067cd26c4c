/** Seeds the demo orders (@ecom/demo-data) through the orders data layer. Idempotent: existing orders are kept. */
import { demoOrders } from "@ecom/demo-data";
import { OrdersRepository } from "./datasources/orders.ts";
import { createDatabase } from "./datasources/prisma.ts";
import { requestHashOf } from "./domain/place-order.ts";
import { loadEnv } from "./env.ts";
import { SEED_DATABASE_OPTIONS } from "@ecom/db";

/** Inserts the demo orders missing from the database at `databaseUrl`. */
export async function seed(databaseUrl: string): Promise<{ orders: number; inserted: number }> {
  const db = createDatabase(databaseUrl, SEED_DATABASE_OPTIONS);
  try {
    const repo = new OrdersRepository(db.prisma);
    let inserted = 0;
    for (const order of demoOrders) {
      const items = order.items.map(({ productId, quantity, unitAmount, currency }) => ({ productId, quantity, unitAmount, currency }));
      const added = await repo.insertIfMissing({
        id: order.id,
        buyerId: order.buyerId,
        status: order.status,
        totalAmount: order.totalAmount,
        currency: order.currency,
        paymentToken: order.paymentToken,
        idempotencyKey: order.idempotencyKey,
        // As if placed through the API: replaying the same request with this key returns this order.
        requestHash: requestHashOf({ items, paymentToken: order.paymentToken }),
        createdAt: new Date(order.createdAt),
        items,
        timeline: order.timeline.map((e) => ({ ...e, at: new Date(e.at) })),
      });
      if (added) inserted++;
    }
    return { orders: demoOrders.length, inserted };
  } finally {
    await db.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const env = loadEnv();
  const result = await seed(env.DATABASE_URL);
  process.stdout.write(`orders: ${result.orders} demo orders (${result.inserted} inserted)\n`);
}
