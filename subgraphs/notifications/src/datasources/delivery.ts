/**
 * The writes of the notifications worker, inside a consumer's transaction: recipients learned from user events,
 * notifications stored once per dedupe key (with the command that delivers them, in the same transaction), and
 * deliveries marked done. Plus the development transport's store, outside any transaction (it plays a provider).
 */
import { createOutbox } from "@ecom/events";
import type { OutgoingNotification, Recipient, SentMessageStore } from "../domain/transports.ts";
import type { PrismaClient } from "../generated/prisma/client.ts";
import type { Channel } from "./notifications.ts";
import type { Transaction } from "./prisma.ts";

/** The notifications outbox: each stored notification's delivery is a command to this service's own worker. */
const outbox = createOutbox({ producer: "notifications" });

/** Writes a recipient from a user event, unless a newer version of the user was written already. */
export async function upsertRecipient(tx: Transaction, recipient: Recipient, version: number): Promise<boolean> {
  const written = await tx.$executeRaw`
    INSERT INTO recipients AS r (user_id, email, name, version, updated_at)
    VALUES (${recipient.userId}::uuid, ${recipient.email}, ${recipient.name}, ${version}::int, now())
    ON CONFLICT (user_id) DO UPDATE SET email = EXCLUDED.email, name = EXCLUDED.name, version = EXCLUDED.version, updated_at = now()
      WHERE r.version < EXCLUDED.version`;
  return written > 0;
}

/**
 * Stores a notification unless one with its dedupe key exists, and when it is new, writes its delivery command
 * (notification.deliver.v1) in the same transaction. Resolves with the new notification's id, or null.
 */
export async function storeAndDeliverOnce(
  tx: Transaction,
  notification: { userId: string; channel: Channel; subject: string; body: string; dedupeKey: string },
): Promise<string | null> {
  const [row] = await tx.$queryRaw<Array<{ id: string }>>`
    INSERT INTO notifications (id, user_id, channel, subject, body, dedupe_key, created_at)
    VALUES (gen_random_uuid(), ${notification.userId}::uuid, ${notification.channel}::"Channel", ${notification.subject},
            ${notification.body}, ${notification.dedupeKey}, now())
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING id::text`;
  if (!row) return null;
  await outbox.write(tx, { type: "notification.deliver.v1", aggregateId: row.id, payload: { notificationId: row.id } });
  return row.id;
}

/** A notification to deliver, with its recipient (null when the user is not known yet). */
export interface PendingDelivery {
  id: string;
  channel: Channel;
  subject: string;
  body: string;
  deliveredAt: Date | null;
  recipient: Recipient | null;
}

/** The notification `id` with its recipient, locked for this delivery (null when it does not exist). */
export async function loadForDelivery(tx: Transaction, id: string): Promise<PendingDelivery | null> {
  const [row] = await tx.$queryRaw<
    Array<{
      id: string;
      channel: Channel;
      subject: string;
      body: string;
      delivered_at: Date | null;
      user_id: string;
      email: string | null;
      name: string | null;
    }>
  >`
    SELECT n.id::text, n.channel::text AS channel, n.subject, n.body, n.delivered_at, n.user_id::text, r.email, r.name
    FROM notifications n LEFT JOIN recipients r ON r.user_id = n.user_id
    WHERE n.id = ${id}::uuid
    FOR UPDATE OF n`;
  if (!row) return null;
  return {
    id: row.id,
    channel: row.channel,
    subject: row.subject,
    body: row.body,
    deliveredAt: row.delivered_at,
    recipient: row.email && row.name ? { userId: row.user_id, email: row.email, name: row.name } : null,
  };
}

/** Marks a notification delivered (the first time only). */
export async function markDelivered(tx: Transaction, id: string): Promise<void> {
  await tx.$executeRaw`UPDATE notifications SET delivered_at = now() WHERE id = ${id}::uuid AND delivered_at IS NULL`;
}

/** The development transport's store: `development_messages`, one row per idempotency key. */
export function createDevelopmentMessageStore(prisma: PrismaClient): SentMessageStore {
  return {
    async storeOnce(message: OutgoingNotification) {
      const stored = await prisma.$executeRaw`
        INSERT INTO development_messages (idempotency_key, channel, user_id, address, subject, body, sent_at)
        VALUES (${message.idempotencyKey}, ${message.channel}::"Channel", ${message.to.userId}::uuid, ${message.to.email},
                ${message.subject}, ${message.body}, now())
        ON CONFLICT (idempotency_key) DO NOTHING`;
      return stored > 0;
    },
  };
}
