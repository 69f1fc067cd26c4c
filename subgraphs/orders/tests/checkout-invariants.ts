/**
 * The checkout's invariants, checked over every database of the stack once it is drained:
 *   - every order is CONFIRMED with exactly one payment, CAPTURED for its total, and its reservation CONFIRMED; or
 *     CANCELLED with no captured money left (declined, refunded or never charged) and its reservation not holding;
 *   - every product's stock is its initial stock minus what confirmed orders took, with nothing reserved;
 *   - no saga unfinished, no outbox row unsent, no reservation ACTIVE (let alone past its expiry);
 *   - notifications: exactly the expected ones (order placed, its outcome, each payment event), none twice.
 */
import { sql } from "@ecom/testing";
import type { CheckoutStack } from "./checkout-support.ts";

/** What the checker counted. */
export interface InvariantReport {
  orders: number;
  confirmed: number;
  cancelled: number;
  cancelledReasons: Record<string, number>;
  paymentsCaptured: number;
  paymentsRefunded: number;
  paymentsDeclined: number;
  voids: number;
  reservations: Record<string, number>;
  notifications: number;
  unsentOutbox: number;
  violations: string[];
}

const reasonClass = (reason: string) =>
  reason.startsWith("payment declined")
    ? "payment declined"
    : reason.startsWith("out of stock")
      ? "out of stock"
      : reason.includes("timed out")
        ? "step deadline"
        : reason.includes("expired")
          ? "reservation expired"
          : reason;

/** Checks every invariant; `initialStock` is each product's stock before the run. */
export async function checkInvariants(stack: CheckoutStack, initialStock: ReadonlyMap<string, number>): Promise<InvariantReport> {
  const violations: string[] = [];
  const { dbs } = stack;
  const orders = await sql<{ id: string; status: string; total: number }>(
    dbs.orders.url,
    "SELECT id::text AS id, status::text AS status, total_amount AS total FROM orders",
  );
  const items = await sql<{ order_id: string; product_id: string; quantity: number }>(
    dbs.orders.url,
    "SELECT order_id::text AS order_id, product_id::text AS product_id, quantity FROM order_items",
  );
  const reasons = await sql<{ order_id: string; detail: string }>(
    dbs.orders.url,
    "SELECT order_id::text AS order_id, detail FROM order_events WHERE step = 'order' AND status = 'CANCELLED'",
  );
  const sagas = await sql<{ status: string; n: number }>(dbs.orders.url, "SELECT status, count(*)::int AS n FROM sagas GROUP BY status");
  const payments = await sql<{ order_id: string; status: string; amount: number }>(
    dbs.payments.url,
    "SELECT order_id::text AS order_id, status::text AS status, amount FROM payments",
  );
  const voids = await sql<{ n: number }>(dbs.payments.url, "SELECT count(*)::int AS n FROM charge_voids");
  const reservations = await sql<{ id: string; status: string; expired: boolean }>(
    dbs.inventory.url,
    "SELECT id::text AS id, status::text AS status, (expires_at IS NOT NULL AND expires_at < now()) AS expired FROM reservations",
  );
  const stock = await sql<{ product_id: string; on_hand: number; reserved: number }>(
    dbs.inventory.url,
    "SELECT product_id::text AS product_id, on_hand, reserved FROM stock_items",
  );
  const notifications = await sql<{ dedupe_key: string }>(dbs.notifications.url, "SELECT dedupe_key FROM notifications");

  const paymentsByOrder = new Map<string, Array<{ status: string; amount: number }>>();
  for (const p of payments) paymentsByOrder.set(p.order_id, [...(paymentsByOrder.get(p.order_id) ?? []), p]);
  const reservationById = new Map(reservations.map((r) => [r.id, r]));
  const taken = new Map<string, number>();
  const expectedNotifications = new Set<string>();
  const cancelledReasons: Record<string, number> = {};
  const reasonOf = new Map(reasons.map((r) => [r.order_id, r.detail]));

  for (const order of orders) {
    const paid = paymentsByOrder.get(order.id) ?? [];
    const reservation = reservationById.get(order.id);
    expectedNotifications.add(`order-placed:${order.id}`);
    if (order.status === "CONFIRMED") {
      expectedNotifications.add(`order-confirmed:${order.id}`);
      if (paid.length !== 1 || paid[0]!.status !== "CAPTURED" || paid[0]!.amount !== order.total) {
        violations.push(`confirmed order ${order.id} has payments ${JSON.stringify(paid)} (want one CAPTURED of ${order.total})`);
      }
      if (reservation?.status !== "CONFIRMED")
        violations.push(`confirmed order ${order.id} has reservation ${reservation?.status ?? "none"}`);
      for (const item of items.filter((i) => i.order_id === order.id))
        taken.set(item.product_id, (taken.get(item.product_id) ?? 0) + item.quantity);
    } else if (order.status === "CANCELLED") {
      expectedNotifications.add(`order-cancelled:${order.id}`);
      const reason = reasonClass(reasonOf.get(order.id) ?? "(no reason)");
      cancelledReasons[reason] = (cancelledReasons[reason] ?? 0) + 1;
      const net = paid.filter((p) => p.status === "CAPTURED").reduce((n, p) => n + p.amount, 0);
      if (net !== 0 || paid.length > 1)
        violations.push(`cancelled order ${order.id} has payments ${JSON.stringify(paid)} (want a net charge of 0)`);
      if (reservation && (reservation.status === "ACTIVE" || reservation.status === "CONFIRMED")) {
        violations.push(`cancelled order ${order.id} has its reservation ${reservation.status}`);
      }
    } else {
      violations.push(`order ${order.id} is still ${order.status}`);
    }
  }
  // Payment ids are not in the orders database: payment notifications are checked by count (one per capture or
  // decline, one more per refund).
  const paymentNotifications = notifications.filter((n) => n.dedupe_key.startsWith("payment-")).length;
  const expectedPaymentNotifications = payments.length + payments.filter((p) => p.status === "REFUNDED").length;
  if (paymentNotifications !== expectedPaymentNotifications) {
    violations.push(`${paymentNotifications} payment notifications, expected ${expectedPaymentNotifications}`);
  }
  const orderNotifications = new Set(notifications.filter((n) => n.dedupe_key.startsWith("order-")).map((n) => n.dedupe_key));
  for (const key of expectedNotifications) if (!orderNotifications.has(key)) violations.push(`missing notification ${key}`);
  for (const key of orderNotifications) if (!expectedNotifications.has(key)) violations.push(`unexpected notification ${key}`);
  const keys = notifications.map((n) => n.dedupe_key);
  if (new Set(keys).size !== keys.length) violations.push("a notification is stored twice");

  for (const row of stock) {
    const initial = initialStock.get(row.product_id);
    if (initial === undefined) continue;
    const want = initial - (taken.get(row.product_id) ?? 0);
    if (row.on_hand !== want || row.reserved !== 0) {
      violations.push(`product ${row.product_id}: on hand ${row.on_hand}, reserved ${row.reserved} (want ${want}, 0)`);
    }
  }
  for (const r of reservations) {
    if (r.status === "ACTIVE") violations.push(`reservation ${r.id} is still ACTIVE${r.expired ? " past its expiry" : ""}`);
  }
  for (const s of sagas) if (s.status !== "COMPLETED" && s.status !== "COMPENSATED") violations.push(`${s.n} sagas ${s.status}`);

  let unsentOutbox = 0;
  for (const [name, db] of Object.entries(dbs)) {
    const [row] = await sql<{ n: number }>(db.url, "SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL");
    unsentOutbox += row!.n;
    if (row!.n > 0) violations.push(`${row!.n} unsent outbox rows in ${name}`);
  }

  const count = (status: string) => payments.filter((p) => p.status === status).length;
  const reservationCounts: Record<string, number> = {};
  for (const r of reservations) reservationCounts[r.status] = (reservationCounts[r.status] ?? 0) + 1;
  return {
    orders: orders.length,
    confirmed: orders.filter((o) => o.status === "CONFIRMED").length,
    cancelled: orders.filter((o) => o.status === "CANCELLED").length,
    cancelledReasons,
    paymentsCaptured: count("CAPTURED"),
    paymentsRefunded: count("REFUNDED"),
    paymentsDeclined: count("DECLINED"),
    voids: voids[0]!.n,
    reservations: reservationCounts,
    notifications: notifications.length,
    unsentOutbox,
    violations,
  };
}
