/**
 * The notifications worker's handlers through the real consumer runner, BullMQ and Postgres: user, order and payment
 * events become one notification per fact and one delivery per notification, however often and in whatever order
 * the events and the delivery commands arrive; each delivery reaches the (development) transport once.
 */
import { randomUUID } from "node:crypto";
import { commandQueueName, eventQueueName, type Message } from "@ecom/events";
import { deliver, makeMessage, twiceShuffled } from "@ecom/events/testing";
import { createTestDatabase, sql } from "@ecom/testing";
import { describe, expect, inject, it } from "vitest";
import { createDeliveryHandlers, createNotificationHandlers } from "../src/consumers/notify.ts";
import { createDevelopmentMessageStore } from "../src/datasources/delivery.ts";
import { createDatabase } from "../src/datasources/prisma.ts";
import { createDevelopmentTransports } from "../src/domain/transports.ts";

const run = inject("testRun");
const quiet = { info: () => {} };

function events(): Message[] {
  const [ann, ben] = [randomUUID(), randomUUID()];
  const [order1, order2, pay1, pay2] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
  const facts = (orderId: string, paymentId: string, buyerId: string) => ({ orderId, paymentId, buyerId, amount: 2500, currency: "USD" });
  return [
    makeMessage("user.registered.v1", ann, 1, { userId: ann, email: "ann@example.com", name: "Ann" }),
    makeMessage("user.registered.v1", ben, 1, { userId: ben, email: "ben@example.com", name: "Ben" }),
    makeMessage("order.placed.v1", order1, 1, {
      orderId: order1,
      buyerId: ann,
      totalAmount: 2500,
      currency: "USD",
      items: [{ productId: randomUUID(), quantity: 2, unitAmount: 1250, currency: "USD" }],
    }),
    makeMessage("payment.captured.v1", pay1, 1, facts(order1, pay1, ann)),
    makeMessage("order.confirmed.v1", order1, 2, { orderId: order1, buyerId: ann, totalAmount: 2500, currency: "USD", detail: null }),
    makeMessage("payment.refunded.v1", pay1, 2, facts(order1, pay1, ann)),
    makeMessage("payment.declined.v1", pay2, 1, { ...facts(order2, pay2, ben), declineCode: "card_declined" }),
    makeMessage("order.cancelled.v1", order2, 2, {
      orderId: order2,
      buyerId: ben,
      totalAmount: 2500,
      currency: "USD",
      reason: "payment declined",
    }),
  ];
}

/** Applies `messages`, then delivers the commands they caused (`twice`: each command twice, shuffled); returns the state. */
async function apply(messages: readonly Message[], twice: boolean) {
  await using db = await createTestDatabase(run, "notifications");
  const service = createDatabase(db.url);
  const prefix = `${run.redisPrefix}ntf-${randomUUID().slice(0, 8)}`;
  try {
    const common = { db: service.prisma, redisUrl: run.redisUrl, prefix };
    await deliver({
      ...common,
      queue: eventQueueName("notifications"),
      handlers: createNotificationHandlers(),
      messages,
      concurrency: twice ? 4 : 1,
    });
    const rows = await sql<{ id: string; aggregate_id: string; aggregate_version: number; payload: { notificationId: string } }>(
      db.url,
      "SELECT id::text, aggregate_id, aggregate_version, payload FROM outbox WHERE type = 'notification.deliver.v1' ORDER BY seq",
    );
    const commands = rows.map((r) => makeMessage("notification.deliver.v1", r.aggregate_id, r.aggregate_version, r.payload, { id: r.id }));
    const transports = createDevelopmentTransports({ store: createDevelopmentMessageStore(service.prisma), logger: quiet });
    await deliver({
      ...common,
      queue: commandQueueName("notifications"),
      handlers: createDeliveryHandlers(transports),
      messages: twice ? twiceShuffled(commands) : commands,
      concurrency: twice ? 4 : 1,
    });
    return {
      notifications: await sql(
        db.url,
        "SELECT user_id::text, channel::text, subject, body, dedupe_key, delivered_at IS NOT NULL AS delivered FROM notifications ORDER BY dedupe_key",
      ),
      sent: await sql(
        db.url,
        "SELECT n.dedupe_key, m.address, m.subject FROM development_messages m JOIN notifications n ON n.id::text = m.idempotency_key ORDER BY n.dedupe_key",
      ),
      recipients: await sql(db.url, "SELECT user_id::text, email, name, version FROM recipients ORDER BY email"),
      commands: commands.length,
    };
  } finally {
    await service.close();
  }
}

describe("notifications consumers", () => {
  it("end in the same notifications and deliveries with events and commands delivered twice and out of order as once", async () => {
    const messages = events();
    const once = await apply(messages, false);
    const twice = await apply(twiceShuffled(messages), true);

    expect(once.notifications).toHaveLength(8);
    expect(once.commands).toBe(8);
    expect(once.notifications.every((n) => n["delivered"] === true)).toBe(true);
    expect(once.sent).toHaveLength(8);
    expect(once.notifications.map((n) => n["subject"])).toEqual(
      expect.arrayContaining([
        "Welcome to the shop",
        expect.stringMatching(/^Your order [0-9A-F]{8} is confirmed$/),
        expect.stringMatching(/^Payment declined/),
      ]),
    );
    expect(once.recipients.map((r) => r["email"])).toEqual(["ann@example.com", "ben@example.com"]);

    expect(twice.notifications).toEqual(once.notifications);
    expect(twice.sent).toEqual(once.sent);
    expect(twice.recipients).toEqual(once.recipients);
    expect(twice.commands).toBe(8);
  });
});
