/**
 * The message catalogue: every domain event and command the platform exchanges, one zod schema each, with a
 * versioned name (`<aggregate>.<what happened>.v<N>`). A breaking change to a payload is a new name (`.v2`) that
 * producers write beside the old one until every consumer reads the new one; additive, optional fields may join a
 * version. Payloads carry the state after the change (event-carried state transfer), so a consumer that sees
 * events out of order or twice can keep the newest by `aggregateVersion` instead of replaying a history.
 *
 * Events say what happened and fan out to every subscribed service (see topology.ts); commands ask one service
 * (the one that owns the data) to do something and go to that service's command queue only.
 */
import { z } from "@ecom/config";

const uuid = () => z.uuid().transform((id) => id.toLowerCase());
const currency = () => z.string().regex(/^[A-Z]{3}$/, "must be an ISO-4217 code such as USD");
/** Minor units (cents) of a price or a charge. */
const minorUnits = () => z.number().int().min(0).max(2_147_483_647);

/** What one catalogue entry declares. */
export interface MessageDefinition<Type extends string = string, Schema extends z.ZodType = z.ZodType> {
  /** Versioned name, e.g. `product.created.v1`. */
  type: Type;
  /** An event (fans out to subscribers) or a command (goes to `handledBy` only). */
  kind: "event" | "command";
  /** The aggregate whose stream the message belongs to, e.g. `product` (its id is the envelope's `aggregateId`). */
  aggregate: string;
  /** For commands: the service whose worker handles it. */
  handledBy?: string;
  /** The payload schema; consumers validate with it, the outbox writer validates before writing. */
  payload: Schema;
  /** One line for operators (`npm run events -- catalogue`) and the docs. */
  description: string;
}

function event<const Type extends string, Schema extends z.ZodType>(
  type: Type,
  aggregate: string,
  payload: Schema,
  description: string,
): MessageDefinition<Type, Schema> & { kind: "event" } {
  return { type, kind: "event", aggregate, payload, description };
}

function command<const Type extends string, const Service extends string, Schema extends z.ZodType>(
  type: Type,
  aggregate: string,
  handledBy: Service,
  payload: Schema,
  description: string,
): MessageDefinition<Type, Schema> & { kind: "command"; handledBy: Service } {
  return { type, kind: "command", aggregate, handledBy, payload, description };
}

const productSnapshot = z.object({
  productId: uuid(),
  sku: z.string().min(1).max(64),
  name: z.string().min(1).max(200),
  description: z.string().max(5000),
  priceAmount: minorUnits(),
  currency: currency(),
  categoryId: uuid(),
});

const orderItem = z.object({
  productId: uuid(),
  quantity: z.number().int().min(1),
  unitAmount: minorUnits(),
  currency: currency(),
});

const reservationItem = z.object({ productId: uuid(), quantity: z.number().int().min(1) });

const paymentFacts = {
  paymentId: uuid(),
  orderId: uuid(),
  buyerId: uuid(),
  amount: minorUnits(),
  currency: currency(),
};

/** Every message of the platform, by type. Add new versions here; never change a published version incompatibly. */
export const catalogue = {
  "product.created.v1": event("product.created.v1", "product", productSnapshot, "A product was added to the catalog (its full state)."),
  "product.updated.v1": event(
    "product.updated.v1",
    "product",
    productSnapshot.extend({ changed: z.array(z.string()).default([]) }),
    "A product changed (its full state after the change, and the names of the fields that changed).",
  ),
  "stock.changed.v1": event(
    "stock.changed.v1",
    "stock",
    z.object({
      productId: uuid(),
      onHand: z.number().int().min(0),
      reserved: z.number().int().min(0),
      /** on hand minus reserved: what can be ordered. */
      available: z.number().int().min(0),
      /** Units added (positive) or removed (negative) by this change. */
      delta: z.number().int(),
      reason: z.enum(["restock", "reserved", "released", "deducted", "adjusted"]),
    }),
    "A product's stock level changed (aggregate id: the product id).",
  ),
  "user.registered.v1": event(
    "user.registered.v1",
    "user",
    z.object({ userId: uuid(), email: z.email(), name: z.string().min(1).max(200) }),
    "A user signed up.",
  ),
  "order.placed.v1": event(
    "order.placed.v1",
    "order",
    z.object({
      orderId: uuid(),
      buyerId: uuid(),
      totalAmount: minorUnits(),
      currency: currency(),
      items: z.array(orderItem).min(1),
    }),
    "An order was placed (PENDING).",
  ),
  "order.confirmed.v1": event(
    "order.confirmed.v1",
    "order",
    z.object({ orderId: uuid(), buyerId: uuid(), totalAmount: minorUnits(), currency: currency(), detail: z.string().nullable() }),
    "An order was confirmed (PENDING -> CONFIRMED).",
  ),
  "order.cancelled.v1": event(
    "order.cancelled.v1",
    "order",
    z.object({ orderId: uuid(), buyerId: uuid(), totalAmount: minorUnits(), currency: currency(), reason: z.string().min(1) }),
    "An order was cancelled (PENDING -> CANCELLED), with the reason.",
  ),
  "payment.captured.v1": event("payment.captured.v1", "payment", z.object(paymentFacts), "A charge was captured."),
  "payment.declined.v1": event(
    "payment.declined.v1",
    "payment",
    z.object({ ...paymentFacts, declineCode: z.string().min(1) }),
    "A charge was declined by the provider (with its decline code).",
  ),
  "payment.refunded.v1": event("payment.refunded.v1", "payment", z.object(paymentFacts), "A captured payment was refunded in full."),
  // The checkout saga (orders' orchestrator, packages/saga) and its participants. Commands carry the saga's
  // idempotency keys (the reservation id, the charge and refund keys); each reply is an event to events.orders.
  "reservation.reserve.v1": command(
    "reservation.reserve.v1",
    "reservation",
    "inventory",
    z.object({ reservationId: uuid(), orderId: uuid(), items: z.array(reservationItem).min(1), ttlMs: z.number().int().min(1000) }),
    "TCC try: hold the items' stock for an order until the reservation expires (refused after its cancel).",
  ),
  "reservation.confirm.v1": command(
    "reservation.confirm.v1",
    "reservation",
    "inventory",
    z.object({ reservationId: uuid(), orderId: uuid() }),
    "TCC confirm: deduct the held stock for good (idempotent).",
  ),
  "reservation.release.v1": command(
    "reservation.release.v1",
    "reservation",
    "inventory",
    z.object({ reservationId: uuid(), orderId: uuid(), reason: z.string().min(1).max(500) }),
    "TCC cancel: give the held (or deducted) stock back; before its try, leave a marker that refuses the late try.",
  ),
  "reservation.reserved.v1": event(
    "reservation.reserved.v1",
    "reservation",
    z.object({
      reservationId: uuid(),
      orderId: uuid(),
      items: z.array(reservationItem).min(1),
      expiresAt: z.iso.datetime({ offset: true }),
    }),
    "Stock was reserved for an order (TCC try succeeded).",
  ),
  "reservation.rejected.v1": event(
    "reservation.rejected.v1",
    "reservation",
    z.object({
      reservationId: uuid(),
      orderId: uuid(),
      stage: z.enum(["reserve", "confirm"]),
      reason: z.enum(["out_of_stock", "unknown_product", "cancelled", "expired"]),
      detail: z.string().max(1000),
      productIds: z.array(uuid()).default([]),
    }),
    "A try or a confirm was refused (out of stock, unknown product, cancelled before its try, expired).",
  ),
  "reservation.confirmed.v1": event(
    "reservation.confirmed.v1",
    "reservation",
    z.object({ reservationId: uuid(), orderId: uuid() }),
    "A reservation's stock was deducted (TCC confirm).",
  ),
  "reservation.released.v1": event(
    "reservation.released.v1",
    "reservation",
    z.object({
      reservationId: uuid(),
      orderId: uuid(),
      /** held: held stock given back; deducted: a confirmed reservation's stock put back; none: nothing was held (marker left). */
      returned: z.enum(["held", "deducted", "none"]),
      reason: z.string().min(1).max(500),
    }),
    "A reservation was cancelled (TCC cancel), with what was given back.",
  ),
  "payment.charge.v1": command(
    "payment.charge.v1",
    "payment",
    "payments",
    z.object({
      orderId: uuid(),
      buyerId: uuid(),
      amount: z.number().int().min(0).max(2_147_483_647),
      currency: currency(),
      paymentToken: z.string().min(1).max(100),
      idempotencyKey: z.string().min(1).max(200),
    }),
    "Charge an order (idempotent by its key; refused after the charge was voided).",
  ),
  "payment.refund.v1": command(
    "payment.refund.v1",
    "payment",
    "payments",
    z.object({ orderId: uuid(), chargeKey: z.string().min(1).max(200), refundKey: z.string().min(1).max(200) }),
    "Undo an order's charge: refund it if captured; void it if it never happened (a late charge is then refused).",
  ),
  "payment.voided.v1": event(
    "payment.voided.v1",
    "payment",
    z.object({ orderId: uuid(), chargeKey: z.string().min(1), outcome: z.enum(["voided", "declined", "refunded"]) }),
    "A refund found nothing to refund: the charge never happened (now voided), was declined, or was refunded already.",
  ),
  "payment.rejected.v1": event(
    "payment.rejected.v1",
    "payment",
    z.object({ orderId: uuid(), chargeKey: z.string().min(1), reason: z.string().min(1).max(1000) }),
    "A charge was refused before the provider saw it (invalid request, or voided before it arrived).",
  ),
  "notification.deliver.v1": command(
    "notification.deliver.v1",
    "notification",
    "notifications",
    z.object({ notificationId: uuid() }),
    "Send a stored notification through its channel's transport (email, SMS, push).",
  ),
} as const satisfies Record<string, MessageDefinition>;

/** Every message type of the catalogue. */
export type MessageType = keyof typeof catalogue;

/** Event types only. */
export type EventType = { [K in MessageType]: (typeof catalogue)[K]["kind"] extends "event" ? K : never }[MessageType];

/** Command types only. */
export type CommandType = Exclude<MessageType, EventType>;

/** The payload of a message type, as consumers receive it (after the schema's defaults and transforms). */
export type PayloadOf<T extends MessageType> = z.output<(typeof catalogue)[T]["payload"]>;

/** The payload of a message type, as producers write it. */
export type PayloadInput<T extends MessageType> = z.input<(typeof catalogue)[T]["payload"]>;

/** True when `type` is a type of the catalogue. */
export function isMessageType(type: unknown): type is MessageType {
  return typeof type === "string" && Object.hasOwn(catalogue, type);
}

/** The definition of a message type. @throws Error for an unknown type. */
export function definitionOf<T extends MessageType>(type: T): (typeof catalogue)[T] {
  const definition = catalogue[type];
  if (!definition) throw new Error(`Unknown message type "${String(type)}": add it to packages/events/src/catalogue.ts`);
  return definition;
}
