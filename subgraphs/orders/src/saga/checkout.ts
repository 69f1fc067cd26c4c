/**
 * The checkout saga, as a list of steps with their compensations (packages/saga runs it):
 *
 *   1. reserve-stock        inventory TCC try        undo: release the reservation (TCC cancel)
 *   2. charge-payment       payments charge          undo: refund it (or void it, if it never happened)
 *   3. confirm-reservation  inventory TCC confirm    (nothing to undo: step 1's release gives deducted stock back)
 *   then the order is CONFIRMED; a declined payment, missing stock, an expired reservation or a step deadline
 *   compensates what was done, newest first, and the order is CANCELLED with the reason.
 *
 * Idempotency keys: the reservation id is the order id; the charge and refund keys are derived from it. Every step
 * and every compensation outcome is a timeline entry of the order.
 */
import type { Registry } from "prom-client";
import type { SqlTransaction } from "@ecom/events";
import type { Logger } from "@ecom/observability";
import { createOrchestrator, defineSaga, type Orchestrator, type SagaReply } from "@ecom/saga";
import { OrdersRepository, type OnOrderCreated } from "../datasources/orders.ts";

/** What the checkout saga of an order knows (stored with the saga). */
export interface CheckoutInput {
  orderId: string;
  buyerId: string;
  amount: number;
  currency: string;
  paymentToken: string;
  items: Array<{ productId: string; quantity: number }>;
}

/** The reply events the checkout saga consumes (orders' event queue). */
export type CheckoutReply =
  | "reservation.reserved.v1"
  | "reservation.rejected.v1"
  | "reservation.confirmed.v1"
  | "reservation.released.v1"
  | "payment.captured.v1"
  | "payment.declined.v1"
  | "payment.refunded.v1"
  | "payment.voided.v1"
  | "payment.rejected.v1";

/** Timings of the checkout saga. */
export interface CheckoutOptions {
  /** Deadline of each step; past it the saga cancels the order. */
  stepTimeoutMs: number;
  /** How long stock stays reserved without a confirm (inventory's scheduler releases it after). */
  reservationTtlMs: number;
  /** First wait for a compensation's answer before it is sent again (doubled each time). */
  compensationTimeoutMs: number;
}

/** The charge idempotency key of an order (the same as payments' own `chargeKeyForOrder`). */
export const chargeKeyOf = (orderId: string) => `order:${orderId.toLowerCase()}:charge`;
/** The refund idempotency key of an order's charge. */
export const refundKeyOf = (orderId: string) => `order:${orderId.toLowerCase()}:refund`;

const STEP = { reserve: "reserve-stock", charge: "charge-payment", confirm: "confirm-reservation" } as const;

const units = (items: ReadonlyArray<{ quantity: number }>) => items.reduce((n, i) => n + i.quantity, 0);
const money = (amount: number, currency: string) => `${(amount / 100).toFixed(2)} ${currency}`;

const REJECTION_STATUS = {
  out_of_stock: "OUT_OF_STOCK",
  unknown_product: "UNKNOWN_PRODUCT",
  cancelled: "REFUSED",
  expired: "EXPIRED",
} as const;

/** The checkout saga's definition. */
export function checkoutSaga(options: CheckoutOptions) {
  // Over any SqlTransaction: sagas start in placeOrder's Prisma transaction, and the worker applies the replies on
  // plain pg transactions (see worker.ts), so every write of the definition is raw SQL.
  return defineSaga<CheckoutInput, SqlTransaction, CheckoutReply>({
    name: "checkout",
    stepTimeoutMs: options.stepTimeoutMs,
    compensationTimeoutMs: options.compensationTimeoutMs,
    steps: [
      {
        name: STEP.reserve,
        label: "inventory",
        invoke: ({ send, input }) =>
          send("reservation.reserve.v1", input.orderId, {
            reservationId: input.orderId,
            orderId: input.orderId,
            items: input.items,
            ttlMs: options.reservationTtlMs,
          }),
        compensate: ({ send, input, reason }) =>
          send("reservation.release.v1", input.orderId, {
            reservationId: input.orderId,
            orderId: input.orderId,
            reason: reason ?? "cancelled",
          }),
      },
      {
        name: STEP.charge,
        label: "payment",
        invoke: ({ send, input }) =>
          send("payment.charge.v1", input.orderId, {
            orderId: input.orderId,
            buyerId: input.buyerId,
            amount: input.amount,
            currency: input.currency,
            paymentToken: input.paymentToken,
            idempotencyKey: chargeKeyOf(input.orderId),
          }),
        compensate: ({ send, input }) =>
          send("payment.refund.v1", input.orderId, {
            orderId: input.orderId,
            chargeKey: chargeKeyOf(input.orderId),
            refundKey: refundKeyOf(input.orderId),
          }),
      },
      {
        name: STEP.confirm,
        label: "inventory",
        invoke: ({ send, input }) =>
          send("reservation.confirm.v1", input.orderId, { reservationId: input.orderId, orderId: input.orderId }),
      },
    ],
    replies: {
      "reservation.reserved.v1": ({ payload: p }): SagaReply => ({
        sagaId: p.orderId,
        step: STEP.reserve,
        phase: "invoke",
        ok: true,
        status: "RESERVED",
        result: { expiresAt: p.expiresAt },
        detail: `${units(p.items)} unit${units(p.items) === 1 ? "" : "s"} held until ${p.expiresAt}`,
      }),
      "reservation.rejected.v1": ({ payload: p }): SagaReply => ({
        sagaId: p.orderId,
        step: p.stage === "reserve" ? STEP.reserve : STEP.confirm,
        phase: "invoke",
        ok: false,
        status: REJECTION_STATUS[p.reason],
        reason: p.detail,
        detail: p.detail,
      }),
      "reservation.confirmed.v1": ({ payload: p }): SagaReply => ({
        sagaId: p.orderId,
        step: STEP.confirm,
        phase: "invoke",
        ok: true,
        status: "CONFIRMED",
        detail: "reserved stock deducted",
      }),
      "reservation.released.v1": ({ payload: p }): SagaReply => ({
        sagaId: p.orderId,
        step: STEP.reserve,
        phase: "compensate",
        ok: true,
        status: "RELEASED",
        detail: { held: "reserved stock given back", deducted: "deducted stock put back", none: "nothing was held" }[p.returned],
      }),
      "payment.captured.v1": ({ payload: p }): SagaReply => ({
        sagaId: p.orderId,
        step: STEP.charge,
        phase: "invoke",
        ok: true,
        status: "CAPTURED",
        result: { paymentId: p.paymentId },
        detail: money(p.amount, p.currency),
      }),
      "payment.declined.v1": ({ payload: p }): SagaReply => ({
        sagaId: p.orderId,
        step: STEP.charge,
        phase: "invoke",
        ok: false,
        status: "DECLINED",
        reason: `payment declined (${p.declineCode})`,
        detail: p.declineCode,
      }),
      "payment.rejected.v1": ({ payload: p }): SagaReply => ({
        sagaId: p.orderId,
        step: STEP.charge,
        phase: "invoke",
        ok: false,
        status: "REJECTED",
        reason: `payment refused: ${p.reason}`,
        detail: p.reason,
      }),
      "payment.refunded.v1": ({ payload: p }): SagaReply => ({
        sagaId: p.orderId,
        step: STEP.charge,
        phase: "compensate",
        ok: true,
        status: "REFUNDED",
        detail: money(p.amount, p.currency),
      }),
      "payment.voided.v1": ({ payload: p }): SagaReply => ({
        sagaId: p.orderId,
        step: STEP.charge,
        phase: "compensate",
        ok: true,
        status: p.outcome === "refunded" ? "REFUNDED" : "VOIDED",
        detail: {
          voided: "no charge was made; a late one will be refused",
          declined: "the charge was declined: nothing to refund",
          refunded: "refunded already",
        }[p.outcome],
      }),
    },
    record: (tx, orderId, _input, entry) => OrdersRepository.appendTimeline(tx, orderId, entry),
    onCompleted: async (tx, orderId) => {
      await OrdersRepository.transitionIn(tx, orderId, { type: "CONFIRM", detail: "paid, stock deducted" });
    },
    onCompensated: async (tx, orderId, _input, reason) => {
      await OrdersRepository.transitionIn(tx, orderId, { type: "CANCEL", reason });
    },
  });
}

/** The checkout orchestrator. */
export type CheckoutOrchestrator = Orchestrator<CheckoutInput, SqlTransaction, CheckoutReply>;

/** The checkout orchestrator of a process (the subgraph starts sagas, the worker advances them). */
export function createCheckout(options: CheckoutOptions, deps: { logger: Logger; registry: Registry }): CheckoutOrchestrator {
  return createOrchestrator(checkoutSaga(options), { producer: "orders", logger: deps.logger, registry: deps.registry });
}

/** Starts an order's checkout saga in the transaction that creates the order (see OrdersRepository). */
export function startCheckoutOnCreate(checkout: CheckoutOrchestrator): OnOrderCreated {
  return async (tx, order) => {
    await checkout.start(tx, order.id, {
      orderId: order.id,
      buyerId: order.buyerId,
      amount: order.totalAmount,
      currency: order.currency,
      paymentToken: order.paymentToken,
      items: order.items.map((i) => ({ productId: i.productId, quantity: i.quantity })),
    });
  };
}
