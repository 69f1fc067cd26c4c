/**
 * The inventory worker's command handlers (commands.inventory): the TCC side of the checkout saga. Each handler
 * runs in the consumer's transaction (its inbox row makes a redelivered command a no-op) and writes its reply
 * event to the outbox in that same transaction.
 */
import { createOutbox, type CommandOf, type MessageHandlers, type SqlTransaction } from "@ecom/events";
import { ReservationsRepository } from "../datasources/reservations.ts";

const outbox = createOutbox({ producer: "inventory" });

/** One handler per command inventory handles (packages/events/src/catalogue.ts). */
export function createReservationHandlers(): MessageHandlers<CommandOf<"inventory">, SqlTransaction> {
  return {
    "reservation.reserve.v1": async ({ payload: p }, tx, { logger }) => {
      const result = await ReservationsRepository.reserve(tx, p);
      if (result.kind === "reserved") {
        await outbox.write(tx, {
          type: "reservation.reserved.v1",
          aggregateId: p.reservationId,
          payload: { reservationId: p.reservationId, orderId: p.orderId, items: result.items, expiresAt: result.expiresAt.toISOString() },
        });
      } else {
        logger.info({ reservationId: p.reservationId, reason: result.reason }, "reservation refused");
        await outbox.write(tx, {
          type: "reservation.rejected.v1",
          aggregateId: p.reservationId,
          payload: {
            reservationId: p.reservationId,
            orderId: p.orderId,
            stage: "reserve",
            reason: result.reason,
            detail: result.detail,
            productIds: result.productIds,
          },
        });
      }
    },
    "reservation.confirm.v1": async ({ payload: p }, tx) => {
      const result = await ReservationsRepository.confirm(tx, p.reservationId);
      if (result.kind === "confirmed") {
        await outbox.write(tx, {
          type: "reservation.confirmed.v1",
          aggregateId: p.reservationId,
          payload: { reservationId: p.reservationId, orderId: p.orderId },
        });
      } else {
        await outbox.write(tx, {
          type: "reservation.rejected.v1",
          aggregateId: p.reservationId,
          payload: {
            reservationId: p.reservationId,
            orderId: p.orderId,
            stage: "confirm",
            reason: result.reason,
            detail: result.detail,
            productIds: [],
          },
        });
      }
    },
    "reservation.release.v1": async ({ payload: p }, tx) => {
      const { returned } = await ReservationsRepository.cancel(tx, p);
      await outbox.write(tx, {
        type: "reservation.released.v1",
        aggregateId: p.reservationId,
        payload: { reservationId: p.reservationId, orderId: p.orderId, returned, reason: p.reason },
      });
    },
  };
}
