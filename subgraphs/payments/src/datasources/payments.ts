import { randomUUID } from "node:crypto";
import DataLoader from "dataloader";
import type { LoaderOptions } from "@ecom/service";
import { createOutbox, type SqlTransaction, type TransactionalDatabase } from "@ecom/events";
import { isUuid } from "@ecom/service";

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

/**
 * A unique violation (SQLSTATE 23505), however it arrives: from pg itself (`code`), or through Prisma, which reports
 * it as P2002 for model queries and as P2010 with the driver's original code for raw ones.
 */
function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: unknown; meta?: { driverAdapterError?: { cause?: { originalCode?: unknown } } } } | null;
  return e?.code === "23505" || e?.code === "P2002" || (e?.code === "P2010" && e.meta?.driverAdapterError?.cause?.originalCode === "23505");
}

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

// Every column of PaymentRow, as raw SQL returns it (ids and enums as text).
const PAYMENT_COLUMNS = `id::text, order_id::text, buyer_id::text, amount, currency::text, status::text, decline_code,
  idempotency_key, request_hash, refund_idempotency_key, created_at, updated_at`;

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

/** A ledger row of a payment. */
export interface PaymentEventRecord {
  id: string;
  paymentId: string;
  fromStatus: PaymentStatus | null;
  toStatus: PaymentStatus;
  amount: number;
  currency: string;
  idempotencyKey: string;
  createdAt: Date;
}

// A payment and its first ledger row, in one statement. Ids are made here, as Prisma's @default(uuid()) did.
const INSERT_CHARGE = `
WITH payment AS (
  INSERT INTO payments (id, order_id, buyer_id, amount, currency, status, decline_code, idempotency_key, request_hash, created_at, updated_at)
  VALUES ($1::uuid, $2::uuid, $3::uuid, $4::int, $5, $6::text::"PaymentStatus", $7, $8, $9,
          COALESCE($10::timestamptz, now()), COALESCE($10::timestamptz, now()))
  RETURNING *
), ledger AS (
  INSERT INTO payment_events (id, payment_id, from_status, to_status, amount, currency, idempotency_key, created_at)
  SELECT $11::uuid, id, NULL, status, amount, currency, idempotency_key, created_at FROM payment
)
SELECT ${PAYMENT_COLUMNS} FROM payment`;

// CAPTURED -> REFUNDED and its ledger row, in one statement; no row when the payment is not CAPTURED.
const REFUND = `
WITH payment AS (
  UPDATE payments SET status = 'REFUNDED', refund_idempotency_key = $2, updated_at = now()
  WHERE id = $1::uuid AND status = 'CAPTURED'
  RETURNING *
), ledger AS (
  INSERT INTO payment_events (id, payment_id, from_status, to_status, amount, currency, idempotency_key, created_at)
  SELECT $3::uuid, id, 'CAPTURED', 'REFUNDED', amount, currency, $2, now() FROM payment
)
SELECT ${PAYMENT_COLUMNS} FROM payment`;

/**
 * Data access of the payments subgraph: payments and their append-only ledger (`payment_events`). Raw SQL over any
 * {@link SqlTransaction}: the subgraph passes its Prisma client, the worker a plain pg transaction (see worker.ts:
 * the saga's charge and refund skip Prisma's interactive-transaction machinery, six times the CPU of the statements
 * here), tests either.
 */
export class PaymentsRepository {
  /**
   * Over a client that has `$transaction` (the Prisma client), each write is its own transaction; over a
   * transaction (Prisma's `tx`, or a pg one: the saga's command handlers), every write joins it, with the
   * handler's inbox row and reply event.
   */
  constructor(private readonly db: SqlTransaction | (SqlTransaction & TransactionalDatabase<SqlTransaction>)) {}

  private transaction<T>(fn: (tx: SqlTransaction) => Promise<T>): Promise<T> {
    return "$transaction" in this.db && typeof this.db.$transaction === "function" ? this.db.$transaction(fn) : fn(this.db);
  }

  private async one(query: string, ...values: unknown[]): Promise<PaymentRecord | null> {
    const [row] = await this.db.$queryRawUnsafe<PaymentRow[]>(query, ...values);
    return row ? fromRow(row) : null;
  }

  /** A void marker: a charge with this key arrives too late and is refused (see ChargeVoid in the schema). */
  async isVoided(idempotencyKey: string): Promise<boolean> {
    const rows = await this.db.$queryRawUnsafe<unknown[]>(`SELECT 1 FROM charge_voids WHERE idempotency_key = $1`, idempotencyKey);
    return rows.length > 0;
  }

  /** Leaves the void marker of a charge that never happened. */
  async void(idempotencyKey: string, orderId: string): Promise<void> {
    await this.db.$executeRawUnsafe(
      `INSERT INTO charge_voids (idempotency_key, order_id) VALUES ($1, $2::uuid) ON CONFLICT DO NOTHING`,
      idempotencyKey,
      orderId,
    );
  }

  /** Serializes the saga's commands about one charge key until the transaction ends (transactions only). */
  async lockKey(idempotencyKey: string): Promise<void> {
    await this.db.$queryRawUnsafe(`SELECT pg_advisory_xact_lock(hashtext($1))::text`, idempotencyKey);
  }

  /** Payments by id, in the order asked (null where missing): one statement for the whole batch. */
  async findByIds(ids: readonly string[]): Promise<Array<PaymentRecord | null>> {
    const valid = [...new Set(ids.filter(isUuid).map((id) => id.toLowerCase()))];
    const rows = valid.length
      ? await this.db.$queryRawUnsafe<PaymentRow[]>(`SELECT ${PAYMENT_COLUMNS} FROM payments WHERE id = ANY($1::uuid[])`, valid)
      : [];
    const byId = new Map(rows.map((r) => [r.id, fromRow(r)]));
    return ids.map((id) => byId.get(id.toLowerCase()) ?? null);
  }

  /** The latest payment of each order, in the order asked (null where none): one statement for the batch. */
  async findLatestByOrderIds(orderIds: readonly string[]): Promise<Array<PaymentRecord | null>> {
    const valid = [...new Set(orderIds.filter(isUuid).map((id) => id.toLowerCase()))];
    const rows = valid.length
      ? await this.db.$queryRawUnsafe<PaymentRow[]>(
          `SELECT DISTINCT ON (order_id) ${PAYMENT_COLUMNS}
             FROM payments
            WHERE order_id = ANY($1::uuid[])
            ORDER BY order_id, created_at DESC, id DESC`,
          valid,
        )
      : [];
    const byOrder = new Map(rows.map((r) => [r.order_id, fromRow(r)]));
    return orderIds.map((id) => byOrder.get(id.toLowerCase()) ?? null);
  }

  /** The payment a charge with this idempotency key created, if any. */
  findByIdempotencyKey(idempotencyKey: string): Promise<PaymentRecord | null> {
    return this.one(`SELECT ${PAYMENT_COLUMNS} FROM payments WHERE idempotency_key = $1`, idempotencyKey);
  }

  /** The payment a refund with this idempotency key refunded, if any. */
  findByRefundKey(refundIdempotencyKey: string): Promise<PaymentRecord | null> {
    return this.one(`SELECT ${PAYMENT_COLUMNS} FROM payments WHERE refund_idempotency_key = $1`, refundIdempotencyKey);
  }

  /**
   * Records a charge, its ledger row and its event (`payment.captured.v1` / `payment.declined.v1`), atomically;
   * `announce: false` (seeds replaying history that every service seeds for itself) writes no event.
   * @throws ChargeKeyTakenError when a payment with the idempotency key exists (e.g. a concurrent duplicate).
   */
  async createCharge(charge: NewCharge, options: { announce?: boolean } = {}): Promise<PaymentRecord> {
    try {
      return await this.transaction(async (tx) => {
        const [row] = await tx.$queryRawUnsafe<PaymentRow[]>(
          INSERT_CHARGE,
          randomUUID(),
          charge.orderId,
          charge.buyerId,
          charge.amount,
          charge.currency,
          charge.status,
          charge.declineCode,
          charge.idempotencyKey,
          charge.requestHash,
          charge.createdAt?.toISOString() ?? null,
          randomUUID(),
        );
        const payment = fromRow(row!);
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
        const [row] = await tx.$queryRawUnsafe<PaymentRow[]>(REFUND, paymentId, refundIdempotencyKey, randomUUID());
        if (!row) return null;
        const payment = fromRow(row);
        await outbox.write(tx, { type: "payment.refunded.v1", aggregateId: payment.id, payload: factsOf(payment) });
        return payment;
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new RefundKeyTakenError(refundIdempotencyKey);
      throw error;
    }
  }

  /** The ledger of a payment, oldest first. */
  async events(paymentId: string): Promise<PaymentEventRecord[]> {
    return await this.db.$queryRawUnsafe<PaymentEventRecord[]>(
      `SELECT id::text, payment_id::text AS "paymentId", from_status::text AS "fromStatus", to_status::text AS "toStatus", amount,
              currency::text, idempotency_key AS "idempotencyKey", created_at AS "createdAt"
         FROM payment_events WHERE payment_id = $1::uuid ORDER BY created_at, id`,
      paymentId,
    );
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
