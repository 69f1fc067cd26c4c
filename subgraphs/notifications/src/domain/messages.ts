/**
 * What each event tells the user: subject, body and the dedupe key that makes it one notification per fact, however
 * many times (or through however many events) the fact arrives. Pure: the consumers store what this returns.
 */
import type { Message } from "@ecom/events";
import { dedupeKeyFor } from "./notifications-service.ts";

/** A notification to store for an event. */
export interface NotificationDraft {
  userId: string;
  subject: string;
  body: string;
  dedupeKey: string;
}

const money = (amount: number, currency: string) => new Intl.NumberFormat("en-US", { style: "currency", currency }).format(amount / 100);
/** The short order reference users see (the first block of its id). */
const orderRef = (orderId: string) => orderId.slice(0, 8).toUpperCase();

/** The welcome message of a new user (the same dedupe key as the seed's, so a demo user is never welcomed twice). */
export function welcomeOf(event: Message<"user.registered.v1">): NotificationDraft {
  const { userId, name, email } = event.payload;
  return {
    userId,
    subject: "Welcome to the shop",
    body: `Hello ${name}, your account ${email} is ready. Happy shopping!`,
    dedupeKey: dedupeKeyFor("welcome", userId),
  };
}

/** The notification of an order or payment event. */
export function notificationOf(
  event: Message<
    "order.placed.v1" | "order.confirmed.v1" | "order.cancelled.v1" | "payment.captured.v1" | "payment.declined.v1" | "payment.refunded.v1"
  >,
): NotificationDraft {
  switch (event.type) {
    case "order.placed.v1": {
      const p = (event as Message<"order.placed.v1">).payload;
      const units = p.items.reduce((n, i) => n + i.quantity, 0);
      return {
        userId: p.buyerId,
        subject: `We received your order ${orderRef(p.orderId)}`,
        body: `Thank you! Your order of ${units} item${units === 1 ? "" : "s"} for ${money(p.totalAmount, p.currency)} is being processed.`,
        dedupeKey: dedupeKeyFor("order-placed", p.orderId),
      };
    }
    case "order.confirmed.v1": {
      const p = (event as Message<"order.confirmed.v1">).payload;
      return {
        userId: p.buyerId,
        subject: `Your order ${orderRef(p.orderId)} is confirmed`,
        body: `Your order for ${money(p.totalAmount, p.currency)} is confirmed and on its way.`,
        dedupeKey: dedupeKeyFor("order-confirmed", p.orderId),
      };
    }
    case "order.cancelled.v1": {
      const p = (event as Message<"order.cancelled.v1">).payload;
      return {
        userId: p.buyerId,
        subject: `Your order ${orderRef(p.orderId)} was cancelled`,
        body: `Your order for ${money(p.totalAmount, p.currency)} was cancelled: ${p.reason}. You have not been charged for it.`,
        dedupeKey: dedupeKeyFor("order-cancelled", p.orderId),
      };
    }
    case "payment.captured.v1": {
      const p = (event as Message<"payment.captured.v1">).payload;
      return {
        userId: p.buyerId,
        subject: `Payment received for order ${orderRef(p.orderId)}`,
        body: `We received your payment of ${money(p.amount, p.currency)}.`,
        dedupeKey: dedupeKeyFor("payment-captured", p.paymentId),
      };
    }
    case "payment.declined.v1": {
      const p = (event as Message<"payment.declined.v1">).payload;
      return {
        userId: p.buyerId,
        subject: `Payment declined for order ${orderRef(p.orderId)}`,
        body: `Your card was declined (${p.declineCode}) for ${money(p.amount, p.currency)}. Please use another card.`,
        dedupeKey: dedupeKeyFor("payment-declined", p.paymentId),
      };
    }
    case "payment.refunded.v1": {
      const p = (event as Message<"payment.refunded.v1">).payload;
      return {
        userId: p.buyerId,
        subject: `Refund issued for order ${orderRef(p.orderId)}`,
        body: `We refunded ${money(p.amount, p.currency)} to your card.`,
        dedupeKey: dedupeKeyFor("payment-refunded", p.paymentId),
      };
    }
    default: {
      const unexpected: never = event.type;
      throw new Error(`No notification for ${String(unexpected)}`);
    }
  }
}
