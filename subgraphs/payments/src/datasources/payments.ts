import DataLoader from "dataloader";
import type { LoaderOptions } from "@ecom/service";
import { createOutbox } from "@ecom/events";
import { isUuid } from "@ecom/service";
import { Prisma, type PrismaClient } from "../generated/prisma/client.ts";

/** States of a payment (the GraphQL enum `PaymentStatus`). */
export type PaymentStatus = "CAPTURED" | "DECLINED" | "REFUNDED";

/** A payment row as the domain and the resolvers see it. */
export interface PaymentRecord {
  id: string;
  orderId: string;
  /** The order's buyer: payments authorizes readers with it, without asking the orders subgraph. */
  buyerId: string;
  /** Minor units. */
  amount: number;
  currency: string;
  status: PaymentStatus;
  declineCode: string | null;
  idempotencyKey: string;
  /** Fingerprint of the charge request that created the payment (see the payments service). */
  requestHash: string;
  refundIdempotencyKey: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** An `Order` entity as this subgraph knows it: its id only (the orders subgraph owns the rest). */
export interface OrderRef {
  id: string;
}

/** What {@link PaymentsRepository.createCharge} writes: the payment and its first ledger row. */
export interface NewCharge {
  orderId: string;
  buyerId: string;
  amount: number;
  currency: string;
  status: Extract<PaymentStatus, "CAPTURED" | "DECLINED">;
  declineCode: string | null;
  idempotencyKey: string;
  requestHash: string;
  /** Defaults to the database's now(); seeds set it to replay history. */
  createdAt?: Date;
}

/** Thrown by {@link PaymentsRepository.createCharge} when another charge holds the idempotency key. */
export class ChargeKeyTakenError extends Error {
  readonly brand = "ChargeKeyTakenError" as const;
  constructor(readonly idempotencyKey: string) {
    super(`A payment with idempotency key ${idempotencyKey} exists already.`);
  }
}

/** True when `error` is a {@link ChargeKeyTakenError}. */
export const isChargeKeyTakenError = (error: unknown): error is ChargeKeyTakenError =>
  (error as { brand?: unknown } | null)?.brand === "ChargeKeyTakenError";

/** Thrown by {@link PaymentsRepository.refundIfCaptured} when another payment was refunded with the same key. */
export class RefundKeyTakenError extends Error {
  readonly brand = "RefundKeyTakenError" as const;
  constructor(readonly idempotencyKey: string) {
    super(`Refund idempotency key ${idempotencyKey} is used already.`);
  }
}

/** True when `error` is a {@link RefundKeyTakenError}. */
export const isRefundKeyTakenError = (error: unknown): error is RefundKeyTakenError =>
  (error as { brand?: unknown } | null)?.brand === "RefundKeyTakenError";

const isUniqueViolation = (error: unknown) => error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002";

interface PaymentRow {
  id: string;
  order_id: string;
  buyer_id: string;
  amount: number;
  currency: string;
  status: PaymentStatus;
  decline_code: string | null;
  idempotency_key: string;
  request_hash: string;
  refund_idempotency_key: string | null;
  created_at: Date;
  updated_at: Date;
}

const fromRow = (r: PaymentRow): PaymentRecord => ({
  id: r.id,
  orderId: r.order_id,
  buyerId: r.buyer_id,
  amount: r.amount,
  currency: r.currency,
  status: r.status,
  declineCode: r.decline_code,
  idempotencyKey: r.idempotency_key,
  requestHash: r.request_hash,
  refundIdempotencyKey: r.refund_idempotency_key,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** The payments outbox: every capture, decline and refund is announced in the transaction that records it. */
const outbox = createOutbox({ producer: "payments" });

const factsOf = (p: PaymentRecord) => ({ paymentId: p.id, orderId: p.orderId, buyerId: p.buyerId, amount: p.amount, currency: p.currency });

/** Data access of the payments subgraph: payments and their append-only ledger (`payment_events`). */
export class PaymentsRepository {
  /**
   * Over the client, each write is its own transaction; over a transaction (`prisma.$transaction(async (tx) =>
   * new PaymentsRepository(tx))`: the saga's command handlers), every write joins it, with the handler's inbox row
   * and reply event.
   */
  constructor(private readonly prisma: PrismaClient | Prisma.TransactionClient) {}

  private transaction<T>(fn: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> {
    const client = this.prisma as Partial<PrismaClient>;
    return typeof client.$transaction === "function" ? (this.prisma as PrismaClient).$transaction(fn) : fn(this.prisma);
  }

  /** A void marker: a charge with this key arrives too late and is refused (see ChargeVoid in the schema). */
  async isVoided(idempotencyKey: string): Promise<boolean> {
    return (await this.prisma.chargeVoid.count({ where: { idempotencyKey } })) > 0;
  }

  /** Leaves the void marker of a charge that never happened. */
  async void(idempotencyKey: string, orderId: string): Promise<void> {
    await this.prisma.chargeVoid.createMany({ data: [{ idempotencyKey, orderId }], skipDuplicates: true });
  }

  /** Serializes the saga's commands about one charge key until the transaction ends (transactions only). */
  async lockKey(idempotencyKey: string): Promise<void> {
    await this.prisma.$queryRaw`SELECT pg_advisory_xact_lock(hashtext(${idempotencyKey}))::text`;
  }

  /** Payments by id, in the order asked (null where missing): one statement for the whole batch. */
  async findByIds(ids: readonly string[]): Promise<Array<PaymentRecord | null>> {
    const valid = [...new Set(ids.filter(isUuid).map((id) => id.toLowerCase()))];
    const rows = valid.length ? await this.prisma.payment.findMany({ where: { id: { in: valid } } }) : [];
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id.toLowerCase()) ?? null);
  }

  /** The latest payment of each order, in the order asked (null where none): one statement for the batch. */
  async findLatestByOrderIds(orderIds: readonly string[]): Promise<Array<PaymentRecord | null>> {
    const valid = [...new Set(orderIds.filter(isUuid).map((id) => id.toLowerCase()))];
    const rows = valid.length
      ? await this.prisma.$queryRaw<PaymentRow[]>`
          SELECT DISTINCT ON (order_id)
                 id::text, order_id::text, buyer_id::text, amount, currency::text, status::text, decline_code,
                 idempotency_key, request_hash, refund_idempotency_key, created_at, updated_at
            FROM payments
           WHERE order_id = ANY(${valid}::uuid[])
           ORDER BY order_id, created_at DESC, id DESC`
      : [];
    const byOrder = new Map(rows.map((r) => [r.order_id, fromRow(r)]));
    return orderIds.map((id) => byOrder.get(id.toLowerCase()) ?? null);
  }

  /** The payment a charge with this idempotency key created, if any. */
  findByIdempotencyKey(idempotencyKey: string): Promise<PaymentRecord | null> {
    return this.prisma.payment.findUnique({ where: { idempotencyKey } });
  }

  /** The payment a refund with this idempotency key refunded, if any. */
  findByRefundKey(refundIdempotencyKey: string): Promise<PaymentRecord | null> {
    return this.prisma.payment.findUnique({ where: { refundIdempotencyKey } });
  }

  /**
   * Records a charge, its ledger row and its event (`payment.captured.v1` / `payment.declined.v1`), atomically;
   * `announce: false` (seeds replaying history that every service seeds for itself) writes no event.
   * @throws ChargeKeyTakenError when a payment with the idempotency key exists (e.g. a concurrent duplicate).
   */
  async createCharge(charge: NewCharge, options: { announce?: boolean } = {}): Promise<PaymentRecord> {
    try {
      return await this.transaction(async (tx) => {
        const payment = await tx.payment.create({
          data: {
            ...charge,
            events: {
              create: {
                fromStatus: null,
                toStatus: charge.status,
                amount: charge.amount,
                currency: charge.currency,
                idempotencyKey: charge.idempotencyKey,
                ...(charge.createdAt ? { createdAt: charge.createdAt } : {}),
              },
            },
          },
        });
        if (options.announce === false) return payment;
        if (payment.status === "DECLINED") {
          await outbox.write(tx, {
            type: "payment.declined.v1",
            aggregateId: payment.id,
            payload: { ...factsOf(payment), declineCode: payment.declineCode ?? "declined" },
          });
        } else {
          await outbox.write(tx, { type: "payment.captured.v1", aggregateId: payment.id, payload: factsOf(payment) });
        }
        return payment;
      });
    } catch (error) {
      // The only unique column a new payment can collide on is the idempotency key (ids are random UUIDs).
      if (isUniqueViolation(error)) throw new ChargeKeyTakenError(charge.idempotencyKey);
      throw error;
    }
  }

  /**
   * Moves a CAPTURED payment to REFUNDED and appends the ledger row and `payment.refunded.v1`, atomically. Returns null (and writes nothing)
   * when the payment does not exist or is not CAPTURED: the conditional update makes concurrent refunds of one
   * payment change it once.
   * @throws RefundKeyTakenError when another payment was refunded with this idempotency key.
   */
  async refundIfCaptured(paymentId: string, refundIdempotencyKey: string): Promise<PaymentRecord | null> {
    if (!isUuid(paymentId)) return null;
    try {
      return await this.transaction(async (tx) => {
        const [payment] = await tx.payment.updateManyAndReturn({
          where: { id: paymentId, status: "CAPTURED" },
          data: { status: "REFUNDED", refundIdempotencyKey },
        });
        if (!payment) return null;
        await tx.paymentEvent.create({
          data: {
            paymentId,
            fromStatus: "CAPTURED",
            toStatus: "REFUNDED",
            amount: payment.amount,
            currency: payment.currency,
            idempotencyKey: refundIdempotencyKey,
          },
        });
        await outbox.write(tx, { type: "payment.refunded.v1", aggregateId: payment.id, payload: factsOf(payment) });
        return payment;
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new RefundKeyTakenError(refundIdempotencyKey);
      throw error;
    }
  }

  /** The ledger of a payment, oldest first. */
  events(paymentId: string) {
    return this.prisma.paymentEvent.findMany({ where: { paymentId }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] });
  }
}

/** The DataLoaders of one request. */
export interface Loaders {
  paymentById: DataLoader<string, PaymentRecord | null>;
  latestPaymentByOrderId: DataLoader<string, PaymentRecord | null>;
}

/** Fresh loaders for one request: all `Payment` and all `Order.payment` lookups of a request become one query each. */
export function createLoaders(repo: PaymentsRepository, options: Partial<LoaderOptions> = {}): Loaders {
  return {
    paymentById: new DataLoader((ids) => repo.findByIds(ids), { ...options }),
    latestPaymentByOrderId: new DataLoader((ids) => repo.findLatestByOrderIds(ids), { ...options }),
  };
}
