/**
 * The payments domain: charges and refunds at the simulated card provider, idempotent by key. Used by the GraphQL
 * resolvers and, later, by the checkout saga's worker; errors are coded GraphQL errors (`errorCodeOf` reads them).
 */
import { createHash } from "node:crypto";
import { badUserInput, notFound } from "@ecom/errors";
import { chargeOutcome, DECLINE_CODES, isKnownPaymentToken, TEST_TOKENS, type ChargeOutcome } from "@ecom/payment-provider";
import { isUuid, parseInput } from "@ecom/service";
import {
  isChargeKeyTakenError,
  isRefundKeyTakenError,
  type PaymentRecord,
  type PaymentsRepository,
  type PaymentStatus,
} from "../datasources/payments.ts";
import { chargeRequestSchema, refundRequestSchema, type ChargeRequest } from "./validation.ts";

/** What {@link PaymentsService.charge} accepts (validated inside: callers pass what they received). */
export interface ChargeInput {
  orderId: string;
  buyerId: string;
  /** Minor units, 1 to 10_000_000. */
  amount: number;
  /** ISO-4217, upper case. */
  currency: string;
  /** A provider test token (`tok_visa`, `tok_chargeDeclined`). */
  paymentToken: string;
  idempotencyKey: string;
}

/** What {@link PaymentsService.refund} accepts. */
export interface RefundInput {
  paymentId: string;
  idempotencyKey: string;
}

/** Options of the service's methods. */
export interface CallOptions {
  /**
   * Prefix of field names in BAD_USER_INPUT errors (`input` gives `input.amount`); empty for plain arguments.
   * @default ""
   */
  fieldRoot?: string;
  /** When the charge happened; defaults to now. Seeds set it to replay history. */
  at?: Date;
  /**
   * Announce the charge (payment.captured.v1 / payment.declined.v1). Seeds replaying history turn it off: every
   * service seeds its own part of that history, so announcing it would notify the demo users a second time.
   * @default true
   */
  announce?: boolean;
}

/**
 * The idempotency key of the charge for an order: the checkout saga charges with it, so a redelivered saga step
 * finds the payment instead of charging twice (the demo seed uses it too).
 */
export const chargeKeyForOrder = (orderId: string) => `order:${orderId.toLowerCase()}:charge`;

/**
 * The fingerprint of a charge request: a retry with the same idempotency key must ask for exactly the same charge.
 * The token is part of it (a retry with another card is another request) but only as a hash, never stored.
 */
export function chargeRequestHash(request: ChargeRequest): string {
  const canonical = JSON.stringify([request.orderId, request.buyerId, request.amount, request.currency, request.paymentToken]);
  return createHash("sha256").update(canonical).digest("hex");
}

function statusOf(outcome: ChargeOutcome): Extract<PaymentStatus, "CAPTURED" | "DECLINED"> {
  switch (outcome) {
    case "captured":
      return "CAPTURED";
    case "declined":
      return "DECLINED";
    default: {
      const unexpected: never = outcome;
      throw new Error(`Unknown charge outcome ${String(unexpected)}`);
    }
  }
}

/** Charges and refunds. Stateless: every guarantee (idempotency, single refund) lives in the database. */
export class PaymentsService {
  constructor(private readonly payments: PaymentsRepository) {}

  /**
   * Charges `amount` with `paymentToken` for an order. A decline is a DECLINED payment, not an error.
   * Idempotent: the same `idempotencyKey` with the same request returns the payment it made (concurrent duplicates
   * included: the key is unique in the database and the losers read the winner's row).
   * @throws BAD_USER_INPUT for invalid input, an unknown token (nothing is written), or a key reused with a
   * different request.
   */
  async charge(input: ChargeInput, options: CallOptions = {}): Promise<PaymentRecord> {
    const root = options.fieldRoot ?? "";
    const request = parseInput(chargeRequestSchema, input, root);
    if (!isKnownPaymentToken(request.paymentToken)) {
      const field = [root, "paymentToken"].filter(Boolean).join(".");
      throw badUserInput(`${field} is not a token the payment provider knows (test tokens: ${Object.keys(TEST_TOKENS).join(", ")}).`, {
        field,
      });
    }
    const requestHash = chargeRequestHash(request);
    const existing = await this.payments.findByIdempotencyKey(request.idempotencyKey);
    if (existing) return this.replay(existing, requestHash, root);

    const outcome = chargeOutcome(request.paymentToken);
    const status = statusOf(outcome);
    try {
      return await this.payments.createCharge(
        {
          orderId: request.orderId,
          buyerId: request.buyerId,
          amount: request.amount,
          currency: request.currency,
          status,
          declineCode: status === "DECLINED" ? (DECLINE_CODES[request.paymentToken] ?? "declined") : null,
          idempotencyKey: request.idempotencyKey,
          requestHash,
          ...(options.at ? { createdAt: options.at } : {}),
        },
        { announce: options.announce ?? true },
      );
    } catch (error) {
      if (!isChargeKeyTakenError(error)) throw error;
      // A concurrent duplicate committed first: answer with its payment.
      const winner = await this.payments.findByIdempotencyKey(request.idempotencyKey);
      if (!winner) throw error;
      return this.replay(winner, requestHash, root);
    }
  }

  /**
   * Refunds a CAPTURED payment in full (CAPTURED -> REFUNDED, one ledger row). Idempotent: a REFUNDED payment is
   * returned as it is.
   * @throws NOT_FOUND for an unknown payment; BAD_USER_INPUT for a DECLINED payment, or a key that refunded
   * another payment.
   */
  async refund(input: RefundInput, options: CallOptions = {}): Promise<PaymentRecord> {
    const root = options.fieldRoot ?? "";
    const { paymentId, idempotencyKey } = parseInput(refundRequestSchema, input, root);
    if (!isUuid(paymentId)) throw notFound("Payment", paymentId);
    const id = paymentId.toLowerCase();

    const keyed = await this.payments.findByRefundKey(idempotencyKey);
    if (keyed) return this.sameRefund(keyed, id, root);

    let refunded: PaymentRecord | null;
    try {
      refunded = await this.payments.refundIfCaptured(id, idempotencyKey);
    } catch (error) {
      if (!isRefundKeyTakenError(error)) throw error;
      const other = await this.payments.findByRefundKey(idempotencyKey);
      if (!other) throw error;
      return this.sameRefund(other, id, root);
    }
    if (refunded) return refunded;

    const [current] = await this.payments.findByIds([id]);
    if (!current) throw notFound("Payment", id);
    switch (current.status) {
      case "REFUNDED":
        return current;
      case "DECLINED":
        throw badUserInput("A declined payment cannot be refunded: nothing was captured.", {
          field: [root, "paymentId"].filter(Boolean).join("."),
        });
      case "CAPTURED":
        // refundIfCaptured found it not CAPTURED a moment ago; states only move forward, so this cannot happen.
        throw new Error(`Payment ${id} is CAPTURED after a refund attempt found it otherwise.`);
      default: {
        const unexpected: never = current.status;
        throw new Error(`Unknown payment status ${String(unexpected)}`);
      }
    }
  }

  private replay(existing: PaymentRecord, requestHash: string, root: string): PaymentRecord {
    if (existing.requestHash === requestHash) return existing;
    const field = [root, "idempotencyKey"].filter(Boolean).join(".");
    throw badUserInput(`${field} was already used for a different charge request.`, { field });
  }

  private sameRefund(keyed: PaymentRecord, paymentId: string, root: string): PaymentRecord {
    if (keyed.id === paymentId) return keyed;
    const field = [root, "idempotencyKey"].filter(Boolean).join(".");
    throw badUserInput(`${field} was already used to refund another payment.`, { field });
  }
}
