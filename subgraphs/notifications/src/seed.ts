/**
 * Seeds the demo notifications through the notifications service: a welcome EMAIL per demo user and an order
 * confirmation EMAIL per demo order (@ecom/demo-data). Idempotent: every notification has a dedupe key.
 */
import { demoOrders, demoProducts, demoUsers, type DemoOrder } from "@ecom/demo-data";
import { NotificationsRepository } from "./datasources/notifications.ts";
import { createDatabase } from "./datasources/prisma.ts";
import { dedupeKeyFor, NotificationsService } from "./domain/notifications-service.ts";
import { loadEnv } from "./env.ts";
import { SEED_DATABASE_OPTIONS } from "@ecom/db";

/** When the demo users signed up (the demo data has no sign-up time): the day before the first demo order. */
const SIGNED_UP_AT = new Date("2026-10-01T08:00:00.000Z");

const money = (amount: number, currency: string) => new Intl.NumberFormat("en-US", { style: "currency", currency }).format(amount / 100);

function confirmation(order: DemoOrder) {
  const confirmedAt = order.timeline.find((e) => e.step === "order" && e.status === "CONFIRMED")?.at ?? order.capturedAt;
  const nameOf = (productId: string, sku: string) => demoProducts.find((p) => p.id === productId)?.name ?? sku;
  const lines = order.items.map((i) => `- ${i.quantity} x ${nameOf(i.productId, i.sku)} at ${money(i.unitAmount, i.currency)}`);
  return {
    subject: `Your order ${order.key} is confirmed`,
    body: [`Thank you for your order. We received your payment of ${money(order.totalAmount, order.currency)}.`, "", ...lines].join("\n"),
    at: new Date(confirmedAt),
  };
}

/** Stores the demo notifications into the database at `databaseUrl`. */
export async function seed(databaseUrl: string): Promise<{ notifications: number }> {
  const db = createDatabase(databaseUrl, SEED_DATABASE_OPTIONS);
  try {
    const service = new NotificationsService(new NotificationsRepository(db.prisma));
    // The demo users signed up before any event was published: their addresses are seeded (version 0, so their
    // later user events replace them).
    await db.prisma.recipient.createMany({
      data: demoUsers.map((u) => ({ userId: u.id, email: u.email, name: u.name, version: 0 })),
      skipDuplicates: true,
    });
    for (const user of demoUsers) {
      await service.notify(
        {
          userId: user.id,
          channel: "EMAIL",
          subject: "Welcome to the shop",
          body: `Hello ${user.name}, your account ${user.email} is ready. Happy shopping!`,
          dedupeKey: dedupeKeyFor("welcome", user.id),
        },
        { at: SIGNED_UP_AT },
      );
    }
    const confirmed = demoOrders.filter((o) => o.status === "CONFIRMED");
    for (const order of confirmed) {
      const { subject, body, at } = confirmation(order);
      await service.notify(
        { userId: order.buyerId, channel: "EMAIL", subject, body, dedupeKey: dedupeKeyFor("order-confirmed", order.id) },
        { at },
      );
    }
    return { notifications: demoUsers.length + confirmed.length };
  } finally {
    await db.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const env = loadEnv();
  const result = await seed(env.DATABASE_URL);
  process.stdout.write(`notifications: seeded ${result.notifications} demo notifications\n`);
}
