/**
 * The notifications worker's handlers. Events (events.notifications) become stored notifications, once per fact
 * (the dedupe key) and once per event (the consumer's inbox); each new notification's delivery is a command
 * (notification.deliver.v1, commands.notifications) written in the same transaction, so it is sent even if the
 * worker dies right after, retried with backoff while a transport fails, and dead-lettered if it never succeeds.
 * The transport gets the notification id as idempotency key: a delivery retried after a crash is not sent twice.
 */
import type { CommandOf, MessageHandlers, SubscribedEvent } from "@ecom/events";
import { loadForDelivery, markDelivered, storeAndDeliverOnce, upsertRecipient } from "../datasources/delivery.ts";
import type { Transaction } from "../datasources/prisma.ts";
import { notificationOf, welcomeOf, type NotificationDraft } from "../domain/messages.ts";
import { sendThrough, type Transports } from "../domain/transports.ts";

/** Thrown while a notification's recipient is not known yet (its user.registered.v1 is still on the way): retried. */
export class UnknownRecipientError extends Error {}

const store = (tx: Transaction, draft: NotificationDraft) => storeAndDeliverOnce(tx, { ...draft, channel: "EMAIL" });

/** One handler per event notifications subscribes to (packages/events/src/topology.ts). */
export function createNotificationHandlers(): MessageHandlers<SubscribedEvent<"notifications">, Transaction> {
  const notify = async (event: Parameters<typeof notificationOf>[0], tx: Transaction) => {
    await store(tx, notificationOf(event));
  };
  return {
    "user.registered.v1": async (event, tx) => {
      const { userId, email, name } = event.payload;
      await upsertRecipient(tx, { userId, email, name }, event.aggregateVersion);
      await store(tx, welcomeOf(event));
    },
    "order.placed.v1": notify,
    "order.confirmed.v1": notify,
    "order.cancelled.v1": notify,
    "payment.captured.v1": notify,
    "payment.declined.v1": notify,
    "payment.refunded.v1": notify,
  };
}

/** The handler of the notifications' own command queue: sends a stored notification through its transport. */
export function createDeliveryHandlers(transports: Transports): MessageHandlers<CommandOf<"notifications">, Transaction> {
  return {
    "notification.deliver.v1": async (command, tx, { logger }) => {
      const notification = await loadForDelivery(tx, command.payload.notificationId);
      if (!notification) {
        logger.warn("the notification to deliver does not exist; nothing to send");
        return;
      }
      if (notification.deliveredAt) return;
      if (!notification.recipient) throw new UnknownRecipientError(`no address for the recipient of notification ${notification.id} yet`);
      await sendThrough(transports, {
        idempotencyKey: notification.id,
        channel: notification.channel,
        to: notification.recipient,
        subject: notification.subject,
        body: notification.body,
      });
      await markDelivered(tx, notification.id);
    },
  };
}
