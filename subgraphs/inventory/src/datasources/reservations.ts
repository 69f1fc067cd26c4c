/**
 * TCC reservations of stock (the checkout saga's inventory participant): try holds units (`reserved += n`), confirm
 * deducts them (`on_hand -= n, reserved -= n`), cancel gives them back. Every operation runs inside the consumer's
 * transaction, so its effect, its inbox row and its reply event commit together.
 *
 * Concurrency: the reservation row is created first (`INSERT ... ON CONFLICT DO NOTHING`), so a try and its cancel
 * for one reservation are serialized by its primary key; stock rows are locked in product-id order (`FOR UPDATE`),
 * so concurrent reservations of the same products wait for each other instead of deadlocking, and the holding
 * UPDATE is conditional (`on_hand - reserved >= n`) besides. The table's CHECKs (0 <= reserved <= on_hand) are the
 * last line: stock can never go negative.
 *
 * Raw SQL over any {@link SqlTransaction}: the worker runs these on plain pg transactions (see worker.ts), the tests
 * on Prisma's. A reservation is read with its lines in one statement, under its row lock.
 */
import { createOutbox, type SqlTransaction, type TransactionalDatabase } from "@ecom/events";
import { availableUnits } from "../domain/stock.ts";

/** A line of a reservation. */
export interface ReservationLine {
  productId: string;
  quantity: number;
}

type ReservationStatus = "ACTIVE" | "CONFIRMED" | "RELEASED" | "EXPIRED" | "CANCELLED";

/** What a try did. */
export type TryResult =
  | { kind: "reserved"; expiresAt: Date; items: ReservationLine[] }
  | { kind: "rejected"; reason: "out_of_stock" | "unknown_product" | "cancelled"; detail: string; productIds: string[] };

/** What a confirm did. */
export type ConfirmResult = { kind: "confirmed" } | { kind: "rejected"; reason: "expired" | "cancelled"; detail: string };

/** What a cancel gave back. */
export type CancelResult = { returned: "held" | "deducted" | "none" };

const outbox = createOutbox({ producer: "inventory" });

interface StockRow {
  product_id: string;
  on_hand: number;
  reserved: number;
}

async function lockStock(tx: SqlTransaction, productIds: string[]): Promise<Map<string, StockRow>> {
  const rows = await tx.$queryRawUnsafe<StockRow[]>(
    `SELECT product_id::text AS product_id, on_hand, reserved FROM stock_items WHERE product_id = ANY($1::uuid[]) ORDER BY product_id FOR UPDATE`,
    productIds,
  );
  return new Map(rows.map((r) => [r.product_id, r]));
}

/** Applies a change of (on_hand, reserved) to each line's stock and announces it (stock.changed.v1). */
async function changeStock(
  tx: SqlTransaction,
  lines: ReservationLine[],
  change: { onHand: -1 | 0 | 1; reserved: -1 | 0 | 1 },
  reason: "reserved" | "released" | "deducted" | "adjusted",
) {
  const sorted = [...lines].sort((a, b) => (a.productId < b.productId ? -1 : 1));
  for (const line of sorted) {
    const [row] = await tx.$queryRawUnsafe<StockRow[]>(
      `UPDATE stock_items SET on_hand = on_hand + $2::int, reserved = reserved + $3::int, version = version + 1, updated_at = now()
       WHERE product_id = $1::uuid AND on_hand + $2::int >= reserved + $3::int AND reserved + $3::int >= 0
       RETURNING product_id::text AS product_id, on_hand, reserved`,
      line.productId,
      change.onHand * line.quantity,
      change.reserved * line.quantity,
    );
    if (!row)
      throw new Error(
        `stock of ${line.productId} cannot take this change (${reason} ${line.quantity}): the reservation and the stock disagree`,
      );
    const item = { onHand: row.on_hand, reserved: row.reserved };
    await outbox.write(tx, {
      type: "stock.changed.v1",
      aggregateId: line.productId,
      payload: {
        productId: line.productId,
        onHand: item.onHand,
        reserved: item.reserved,
        available: availableUnits(item),
        // The change of what can be ordered.
        delta: (change.onHand - change.reserved) * line.quantity,
        reason,
      },
    });
  }
}

/** A reservation as read under its row lock, with its lines (product order). */
interface LockedReservation {
  status: ReservationStatus;
  expires_at: Date | null;
  expired: boolean;
  lines: ReservationLine[];
}

async function lockReservation(tx: SqlTransaction, id: string): Promise<LockedReservation | undefined> {
  const [row] = await tx.$queryRawUnsafe<Array<Omit<LockedReservation, "lines"> & { lines: ReservationLine[] | string }>>(
    `SELECT r.status::text AS status, r.expires_at, (r.expires_at IS NOT NULL AND r.expires_at <= now()) AS expired,
       (SELECT COALESCE(json_agg(json_build_object('productId', i.product_id::text, 'quantity', i.quantity) ORDER BY i.product_id), '[]'::json)
        FROM reservation_items i WHERE i.reservation_id = r.id) AS lines
     FROM reservations r WHERE r.id = $1::uuid FOR UPDATE OF r`,
    id,
  );
  if (!row) return undefined;
  return { ...row, lines: typeof row.lines === "string" ? (JSON.parse(row.lines) as ReservationLine[]) : row.lines };
}

async function setStatus(tx: SqlTransaction, id: string, status: ReservationStatus, reason: string | null) {
  await tx.$executeRawUnsafe(
    `UPDATE reservations SET status = $2::"ReservationStatus", reason = COALESCE($3, reason), updated_at = now() WHERE id = $1::uuid`,
    id,
    status,
    reason,
  );
}

/** TCC reservations: the inventory side of the checkout saga. */
export class ReservationsRepository {
  /**
   * TCC try: holds every line's units until now + `ttlMs`, or nothing (one missing unit refuses the whole
   * reservation). Idempotent: a repeated try answers what the first one did; a try after its cancel is refused.
   */
  static async reserve(
    tx: SqlTransaction,
    input: { reservationId: string; orderId: string; items: ReservationLine[]; ttlMs: number },
  ): Promise<TryResult> {
    const [inserted] = await tx.$queryRawUnsafe<Array<{ expires_at: Date }>>(
      `INSERT INTO reservations (id, order_id, status, expires_at, created_at, updated_at)
       VALUES ($1::uuid, $2::uuid, 'ACTIVE', now() + make_interval(secs => $3::float8 / 1000), now(), now())
       ON CONFLICT (id) DO NOTHING RETURNING expires_at`,
      input.reservationId,
      input.orderId,
      input.ttlMs,
    );
    if (!inserted) {
      const existing = (await lockReservation(tx, input.reservationId))!;
      if (existing.status === "ACTIVE" || existing.status === "CONFIRMED") {
        return { kind: "reserved", expiresAt: new Date(existing.expires_at!), items: existing.lines };
      }
      return {
        kind: "rejected",
        reason: "cancelled",
        detail: `reservation ${existing.status.toLowerCase()} before this try arrived: refused`,
        productIds: [],
      };
    }
    const productIds = input.items.map((i) => i.productId);
    const stock = await lockStock(tx, productIds);
    const unknown = productIds.filter((id) => !stock.has(id));
    const short = input.items.filter(
      (i) =>
        stock.has(i.productId) &&
        availableUnits({ onHand: stock.get(i.productId)!.on_hand, reserved: stock.get(i.productId)!.reserved }) < i.quantity,
    );
    if (unknown.length > 0 || short.length > 0) {
      const rejection: TryResult =
        unknown.length > 0
          ? {
              kind: "rejected",
              reason: "unknown_product",
              detail: `unknown product${unknown.length === 1 ? "" : "s"}: ${unknown.join(", ")}`,
              productIds: unknown,
            }
          : {
              kind: "rejected",
              reason: "out_of_stock",
              detail: `out of stock: ${short.map((i) => `${i.productId} (wanted ${i.quantity}, available ${availableUnits({ onHand: stock.get(i.productId)!.on_hand, reserved: stock.get(i.productId)!.reserved })})`).join(", ")}`,
              productIds: short.map((i) => i.productId),
            };
      // Holds nothing; the row stays so that a repeated try gives the same answer.
      await tx.$executeRawUnsafe(
        `UPDATE reservations SET status = 'RELEASED', expires_at = NULL, reason = $2, updated_at = now() WHERE id = $1::uuid`,
        input.reservationId,
        rejection.detail,
      );
      return rejection;
    }
    await tx.$executeRawUnsafe(
      `INSERT INTO reservation_items (reservation_id, product_id, quantity) SELECT $1::uuid, p, q FROM unnest($2::uuid[], $3::int[]) AS t(p, q)`,
      input.reservationId,
      productIds,
      input.items.map((i) => i.quantity),
    );
    await changeStock(tx, input.items, { onHand: 0, reserved: 1 }, "reserved");
    return { kind: "reserved", expiresAt: new Date(inserted.expires_at), items: input.items };
  }

  /** TCC confirm: deducts the held units. Idempotent; refused for a reservation that expired or was cancelled. */
  static async confirm(tx: SqlTransaction, reservationId: string): Promise<ConfirmResult> {
    const existing = await lockReservation(tx, reservationId);
    if (!existing) return { kind: "rejected", reason: "cancelled", detail: "no reservation to confirm" };
    switch (existing.status) {
      case "CONFIRMED":
        return { kind: "confirmed" };
      case "ACTIVE":
        if (existing.expired) {
          await ReservationsRepository.giveBack(tx, reservationId, existing.lines, "EXPIRED", "expired before its confirm");
          return { kind: "rejected", reason: "expired", detail: "the reservation expired before it was confirmed" };
        }
        await changeStock(tx, existing.lines, { onHand: -1, reserved: -1 }, "deducted");
        await setStatus(tx, reservationId, "CONFIRMED", null);
        return { kind: "confirmed" };
      case "EXPIRED":
        return { kind: "rejected", reason: "expired", detail: "the reservation expired before it was confirmed" };
      case "RELEASED":
      case "CANCELLED":
        return { kind: "rejected", reason: "cancelled", detail: "the reservation was cancelled" };
      default: {
        const never: never = existing.status;
        throw new Error(`unknown reservation status ${String(never)}`);
      }
    }
  }

  /**
   * TCC cancel: gives back what the reservation holds (or, confirmed, what it deducted). Before its try, it leaves
   * a CANCELLED marker that refuses the late try. Idempotent.
   */
  static async cancel(tx: SqlTransaction, input: { reservationId: string; orderId: string; reason: string }): Promise<CancelResult> {
    const marker = await tx.$executeRawUnsafe(
      `INSERT INTO reservations (id, order_id, status, expires_at, reason, created_at, updated_at)
       VALUES ($1::uuid, $2::uuid, 'CANCELLED', NULL, $3, now(), now()) ON CONFLICT (id) DO NOTHING`,
      input.reservationId,
      input.orderId,
      input.reason,
    );
    if (marker > 0) return { returned: "none" };
    const existing = (await lockReservation(tx, input.reservationId))!;
    switch (existing.status) {
      case "ACTIVE":
        await ReservationsRepository.giveBack(tx, input.reservationId, existing.lines, "RELEASED", input.reason);
        return { returned: "held" };
      case "CONFIRMED":
        await changeStock(tx, existing.lines, { onHand: 1, reserved: 0 }, "adjusted");
        await setStatus(tx, input.reservationId, "RELEASED", input.reason);
        return { returned: "deducted" };
      case "RELEASED":
      case "EXPIRED":
      case "CANCELLED":
        return { returned: "none" };
      default: {
        const never: never = existing.status;
        throw new Error(`unknown reservation status ${String(never)}`);
      }
    }
  }

  /** Gives an ACTIVE reservation's held units back (locked by the caller) and sets its final status. */
  private static async giveBack(
    tx: SqlTransaction,
    reservationId: string,
    lines: ReservationLine[],
    status: "RELEASED" | "EXPIRED",
    reason: string,
  ) {
    await changeStock(tx, lines, { onHand: 0, reserved: -1 }, "released");
    await setStatus(tx, reservationId, status, reason);
  }

  /**
   * Releases up to `limit` ACTIVE reservations past their expiry (the scheduler's job), in one transaction; those
   * another transaction holds are skipped (the next run takes them). Resolves with how many were released.
   */
  static async releaseExpired(db: TransactionalDatabase<SqlTransaction>, limit = 100): Promise<number> {
    return db.$transaction(async (tx) => {
      const due = await tx.$queryRawUnsafe<Array<{ id: string }>>(
        `SELECT id::text AS id FROM reservations WHERE status = 'ACTIVE' AND expires_at <= now() ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
        limit,
      );
      if (due.length === 0) return 0;
      const items = await tx.$queryRawUnsafe<Array<ReservationLine & { reservationId: string }>>(
        `SELECT reservation_id::text AS "reservationId", product_id::text AS "productId", quantity
         FROM reservation_items WHERE reservation_id = ANY($1::uuid[]) ORDER BY reservation_id, product_id`,
        due.map((d) => d.id),
      );
      // Every stock row first, in product order (as tries lock them), so that this never deadlocks with a try.
      await lockStock(tx, [...new Set(items.map((i) => i.productId))]);
      for (const { id } of due) {
        const lines = items.filter((i) => i.reservationId === id).map(({ productId, quantity }) => ({ productId, quantity }));
        await ReservationsRepository.giveBack(tx, id, lines, "EXPIRED", "expired: released by the scheduler");
      }
      return due.length;
    });
  }
}
