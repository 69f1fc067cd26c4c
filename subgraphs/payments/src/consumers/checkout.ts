/**
 * The payments worker's command handlers (commands.payments): payments as a participant of the checkout saga.
 * Each runs in the consumer's transaction with the existing PaymentsService over a repository bound to it, so the
 * payment, its ledger row, its reply event (written by the repository: payment.captured/declined/refunded.v1) and
 * the inbox row commit together or not at all.
 *
 * A charge and its refund may arrive in either order (the saga refunds a charge whose answer timed out): both take
 * an advisory lock on the charge key first; a refund that finds no payment leaves a void marker, and a charge that
 * finds the marker is refused, so a late charge can never capture money for a cancelled order.
 */
import { createOutbox, type CommandOf, type MessageHandlers, type SqlTransaction } from "@ecom/events";
import { errorCodeOf, ErrorCode } from "@ecom/errors";
import { PaymentsRepository } from "../datasources/payments.ts";
import { PaymentsService } from "../domain/payments-service.ts";

const outbox = createOutbox({ producer: "payments" });

/** One handler per command payments handles (packages/events/src/catalogue.ts). */
export function createCheckoutHandlers(): MessageHandlers<CommandOf<"payments">, SqlTransaction> {
  return {
    "payment.charge.v1": async ({ payload: p }, tx, { logger }) => {
      const repo = new PaymentsRepository(tx);
      await repo.lockKey(p.idempotencyKey);
      const reject = (reason: string) =>
        outbox.write(tx, {
          type: "payment.rejected.v1",
          aggregateId: p.orderId,
          payload: { orderId: p.orderId, chargeKey: p.idempotencyKey, reason },
        });
      if (await repo.isVoided(p.idempotencyKey)) {
        logger.info({ orderId: p.orderId }, "charge refused: voided before it arrived");
        await reject("the charge was cancelled before it arrived");
        return;
      }
      try {
        // A repeated charge finds its payment (and its reply was written with it): nothing new.
        await new PaymentsService(repo).charge(p);
      } catch (error) {
        // A request the provider refuses (bad amount, unknown token, key reused): an answer, not a retry.
        if (errorCodeOf(error) !== ErrorCode.BAD_USER_INPUT) throw error;
        await reject(error instanceof Error ? error.message : String(error));
      }
    },
    "payment.refund.v1": async ({ payload: p }, tx) => {
      const repo = new PaymentsRepository(tx);
      await repo.lockKey(p.chargeKey);
      const voided = (outcome: "voided" | "declined" | "refunded") =>
        outbox.write(tx, {
          type: "payment.voided.v1",
          aggregateId: p.orderId,
          payload: { orderId: p.orderId, chargeKey: p.chargeKey, outcome },
        });
      const payment = await repo.findByIdempotencyKey(p.chargeKey);
      if (!payment) {
        await repo.void(p.chargeKey, p.orderId);
        await voided("voided");
        return;
      }
      switch (payment.status) {
        case "CAPTURED":
          // Writes payment.refunded.v1 with the refund.
          await new PaymentsService(repo).refund({ paymentId: payment.id, idempotencyKey: p.refundKey });
          return;
        case "DECLINED":
          await voided("declined");
          return;
        case "REFUNDED":
          await voided("refunded");
          return;
        default: {
          const never: never = payment.status;
          throw new Error(`unknown payment status ${String(never)}`);
        }
      }
    },
  };
}
