/**
 * Where messages go. Each consuming service has its own event queue (`events.<service>`): an event fans out to one
 * job in the queue of every service that subscribes to it, so each service consumes, scales (more worker
 * instances on its queue), falls behind and fails on its own, like a Kafka consumer group per service. Commands go
 * to the command queue of the one service that handles them (`commands.<service>`); their replies are events.
 *
 * The relay needs no knowledge of this: the outbox writer stores the destination queues on each row.
 */
import { catalogue, definitionOf, type EventType, type MessageType } from "./catalogue.ts";

/** The events each service consumes. A service consuming a new event adds it here and a handler in its worker. */
export const subscriptions = {
  search: ["product.created.v1", "product.updated.v1", "stock.changed.v1"],
  inventory: ["product.created.v1"],
  /** The checkout saga's orchestrator: its participants' replies. */
  orders: [
    "reservation.reserved.v1",
    "reservation.rejected.v1",
    "reservation.confirmed.v1",
    "reservation.released.v1",
    "payment.captured.v1",
    "payment.declined.v1",
    "payment.refunded.v1",
    "payment.voided.v1",
    "payment.rejected.v1",
  ],
  notifications: [
    "user.registered.v1",
    "order.placed.v1",
    "order.confirmed.v1",
    "order.cancelled.v1",
    "payment.captured.v1",
    "payment.declined.v1",
    "payment.refunded.v1",
  ],
} as const satisfies Record<string, readonly EventType[]>;

/** A service that consumes events. */
export type SubscribingService = keyof typeof subscriptions;

/** The events `service` subscribes to. */
export type SubscribedEvent<S extends SubscribingService> = (typeof subscriptions)[S][number];

/** The commands handled by `service`. */
export type CommandOf<S extends string> = {
  [K in MessageType]: (typeof catalogue)[K] extends { kind: "command"; handledBy: S } ? K : never;
}[MessageType];

/** The event queue of a service, e.g. `events.search`. */
export const eventQueueName = (service: string) => `events.${service}`;

/** The command queue of a service, e.g. `commands.inventory`. */
export const commandQueueName = (service: string) => `commands.${service}`;

/** The queues a message of `type` is delivered to (one per subscriber for an event; the handler's for a command). */
export function queuesFor(type: MessageType): string[] {
  const definition = definitionOf(type);
  if (definition.kind === "command") return [commandQueueName(definition.handledBy!)];
  return Object.entries(subscriptions)
    .filter(([, events]) => (events as readonly string[]).includes(type))
    .map(([service]) => eventQueueName(service))
    .sort();
}

/** The message types a queue receives: what its consumer must handle. */
export function typesOfQueue(queue: string): MessageType[] {
  return (Object.keys(catalogue) as MessageType[]).filter((type) => queuesFor(type).includes(queue));
}

/** Every queue of the topology (dashboards, dead-letter tooling, metrics), sorted. */
export function allQueueNames(): string[] {
  const names = new Set<string>();
  for (const type of Object.keys(catalogue) as MessageType[]) for (const queue of queuesFor(type)) names.add(queue);
  return [...names].sort();
}
