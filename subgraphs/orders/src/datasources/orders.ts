import { randomUUID } from "node:crypto";
import DataLoader from "dataloader";
import type { LoaderOptions } from "@ecom/service";
import { createOutbox, type SqlTransaction } from "@ecom/events";
import { isUuid } from "@ecom/service";
import { applyTransition, type OrderStatus, type OrderTransition, type TransitionOutcome } from "../domain/order-status.ts";
import type { NewOrder } from "../domain/place-order.ts";
import { Prisma, type PrismaClient } from "../generated/prisma/client.ts";
import type { Transaction } from "./prisma.ts";

/** Starts what follows an order's creation (the checkout saga) inside the transaction that creates it. */
export type OnOrderCreated = (tx: Transaction, order: OrderRecord & { paymentToken: string; items: NewOrder["items"] }) => Promise<void>;

/** An order as resolvers see it (items and timeline are loaded separately, batched). */
export interface OrderRecord {
  id: string;
  buyerId: string;
  status: OrderStatus;
  totalAmount: number;
  currency: string;
  createdAt: Date;
}

/** An order with the fingerprint of the request that created it (idempotent replays compare it). */
export interface StoredOrder extends OrderRecord {
  requestHash: string;
}

/** One line of an order. */
export interface OrderItemRecord {
  productId: string;
  quantity: number;
  unitAmount: number;
  currency: string;
}

/** One timeline entry. */
export interface OrderEventRecord {
  at: Date;
  step: string;
  status: string;
  detail: string | null;
}

/** The position after which a page of a buyer's orders starts (newest first). */
export interface OrderCursor {
  createdAt: string;
  id: string;
}

/** One page of one buyer's orders: `take` rows after `after`. */
export interface OrderPageKey {
  buyerId: string;
  take: number;
  after: OrderCursor | null;
}

/** What {@link OrdersRepository.create} did. */
export type CreateResult =
  | { created: true; order: OrderRecord; items: OrderItemRecord[]; timeline: OrderEventRecord[] }
  /** Another request with the same buyer and idempotency key got there first; this is its order. */
  | { created: false; order: StoredOrder };

const orderFields = { id: true, buyerId: true, status: true, totalAmount: true, currency: true, createdAt: true } as const;
const itemFields = { orderId: true, productId: true, quantity: true, unitAmount: true, currency: true } as const;
const eventFields = { orderId: true, at: true, step: true, status: true, detail: true } as const;

/** The first timeline entry of every order. */
export const PLACED_EVENT = { step: "order", status: "PLACED", detail: null } as const;

/** What TRANSITION_SQL returns: the status it found, and the order's facts when it changed it (nulls otherwise). */
interface TransitionRow {
  status: OrderStatus;
  buyerId: string | null;
  totalAmount: number | null;
  currency: string | null;
}

// The change from PENDING and its timeline entry in one statement. `found` reads the statement's snapshot: when the
// UPDATE waited for a concurrent transaction that changed the order, `found` still says PENDING and `changed` is
// empty, which transitionIn reports as a concurrent change (as a read-then-conditional-update did).
const TRANSITION_SQL = `
WITH found AS (SELECT status::text AS status FROM orders WHERE id = $1::uuid),
changed AS (
  UPDATE orders SET status = $2::text::"OrderStatus", updated_at = $5::timestamptz
  WHERE id = $1::uuid AND status = 'PENDING'
  RETURNING buyer_id::text AS "buyerId", total_amount AS "totalAmount", currency::text AS currency
),
entry AS (
  INSERT INTO order_events (order_id, at, step, status, detail) SELECT $1::uuid, $5::timestamptz, $3, $2::text, $4 FROM changed
)
SELECT found.status, changed."buyerId", changed."totalAmount", changed.currency FROM found LEFT JOIN changed ON true`;

// A new order, its items (in the buyer's order) and its first timeline entry (PLACED_EVENT), in one statement; no
// row when the buyer's idempotency key is taken (the conflicting insert waits for the other transaction to end).
// The id is made by the caller, as Prisma's @default(uuid()) did.
const INSERT_ORDER = `
WITH created AS (
  INSERT INTO orders (id, buyer_id, status, total_amount, currency, payment_token, idempotency_key, request_hash, created_at, updated_at)
  VALUES ($1::uuid, $2::uuid, 'PENDING', $3::int, $4, $5, $6, $7, $8::timestamptz, $8::timestamptz)
  ON CONFLICT (buyer_id, idempotency_key) DO NOTHING
  RETURNING id, status, created_at
), items AS (
  INSERT INTO order_items (order_id, position, product_id, quantity, unit_amount, currency)
  SELECT created.id, line.position - 1, line.product_id, line.quantity, line.unit_amount, line.currency
  FROM created, unnest($9::uuid[], $10::int[], $11::int[], $12::text[]) WITH ORDINALITY AS line(product_id, quantity, unit_amount, currency, position)
), placed AS (
  INSERT INTO order_events (order_id, at, step, status, detail) SELECT id, $8::timestamptz, $13, $14, NULL FROM created
)
SELECT id::text AS id, status::text AS status, created_at AS "createdAt" FROM created`;

/** The orders outbox: every order placed and every status change is announced in the transaction that makes it. */
const outbox = createOutbox({ producer: "orders" });

/** Data access of the orders subgraph. Every batch method runs one statement for the whole batch. */
export class OrdersRepository {
  /** `onCreated` runs in the transaction of each new order (the checkout saga starts there). */
  constructor(
    private readonly prisma: PrismaClient,
    private readonly onCreated?: OnOrderCreated,
  ) {}

  /** Orders by id, in the order asked (null where missing). */
  async findByIds(ids: readonly string[]): Promise<Array<OrderRecord | null>> {
    const valid = [...new Set(ids.filter(isUuid).map((id) => id.toLowerCase()))];
    const rows = valid.length ? await this.prisma.order.findMany({ where: { id: { in: valid } }, select: orderFields }) : [];
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id.toLowerCase()) ?? null);
  }

  /** The items of each order, in the order the buyer listed them. */
  async findItemsByOrderIds(orderIds: readonly string[]): Promise<OrderItemRecord[][]> {
    const rows = await this.prisma.orderItem.findMany({
      where: { orderId: { in: [...new Set(orderIds)] } },
      select: itemFields,
      orderBy: [{ orderId: "asc" }, { position: "asc" }],
    });
    return groupBy(orderIds, rows, ({ orderId: _omit, ...item }) => item);
  }

  /** The timeline of each order, oldest first. */
  async findTimelineByOrderIds(orderIds: readonly string[]): Promise<OrderEventRecord[][]> {
    const rows = await this.prisma.orderEvent.findMany({
      where: { orderId: { in: [...new Set(orderIds)] } },
      select: eventFields,
      orderBy: [{ orderId: "asc" }, { at: "asc" }, { id: "asc" }],
    });
    return groupBy(orderIds, rows, ({ orderId: _omit, ...event }) => event);
  }

  /** The buyer's order placed with this idempotency key, if any. */
  findByIdempotencyKey(buyerId: string, idempotencyKey: string): Promise<StoredOrder | null> {
    return this.prisma.order.findUnique({
      where: { buyerId_idempotencyKey: { buyerId, idempotencyKey } },
      select: { ...orderFields, requestHash: true },
    });
  }

  /**
   * Writes a PENDING order, its items and its first timeline entry (order PLACED) in one transaction. When the
   * buyer already has an order with this idempotency key (a concurrent duplicate won the race), nothing is
   * written and that order is returned: the unique index on (buyer_id, idempotency_key) is the arbiter.
   */
  async create(order: NewOrder, now: Date = new Date()): Promise<CreateResult> {
    // One transaction: the order is never visible without its items, its first timeline entry and its event. Raw
    // SQL (INSERT_ORDER: the order, its items and its first entry in one statement) inside Prisma's transaction, so
    // that the request's trace keeps its SQL spans.
    const created = await this.prisma.$transaction(async (tx) => {
      const [row] = await tx.$queryRawUnsafe<Array<{ id: string; status: OrderStatus; createdAt: Date }>>(
        INSERT_ORDER,
        randomUUID(),
        order.buyerId,
        order.totalAmount,
        order.currency,
        order.paymentToken,
        order.idempotencyKey,
        order.requestHash,
        now.toISOString(),
        order.items.map((i) => i.productId),
        order.items.map((i) => i.quantity),
        order.items.map((i) => i.unitAmount),
        order.items.map((i) => i.currency),
        PLACED_EVENT.step,
        PLACED_EVENT.status,
      );
      // The buyer's idempotency key is taken: the insert waited for that transaction to commit, and wrote nothing.
      if (!row) return null;
      const record: OrderRecord = {
        id: row.id,
        buyerId: order.buyerId,
        status: row.status,
        totalAmount: order.totalAmount,
        currency: order.currency,
        createdAt: new Date(row.createdAt),
      };
      await outbox.write(tx, {
        type: "order.placed.v1",
        aggregateId: record.id,
        payload: {
          orderId: record.id,
          buyerId: record.buyerId,
          totalAmount: record.totalAmount,
          currency: record.currency,
          items: order.items,
        },
      });
      await this.onCreated?.(tx, { ...record, paymentToken: order.paymentToken, items: order.items });
      return record;
    });
    if (created) {
      return { created: true, order: created, items: order.items.map((i) => ({ ...i })), timeline: [{ ...PLACED_EVENT, at: now }] };
    }
    // The unique index on (buyer_id, idempotency_key) was the arbiter: the winner's order is committed, hence visible.
    const existing = await this.findByIdempotencyKey(order.buyerId, order.idempotencyKey);
    if (!existing) throw new Error(`placeOrder: idempotency key ${order.idempotencyKey} is taken but its order is not visible`);
    return { created: false, order: existing };
  }

  /**
   * Pages of several buyers' orders, newest first (created_at desc, id desc), in one statement: a lateral join
   * runs the keyset query of each page, so `_entities` over many users still costs one round trip.
   */
  async findPages(keys: readonly OrderPageKey[]): Promise<OrderRecord[][]> {
    if (keys.length === 0) return [];
    const rows = await this.prisma.$queryRaw<Array<OrderRecord & { idx: number }>>`
      SELECT k.idx::int AS idx, o.id::text AS id, o.buyer_id::text AS "buyerId", o.status::text AS status,
             o.total_amount AS "totalAmount", o.currency::text AS currency, o.created_at AS "createdAt"
      FROM unnest(${keys.map((k) => k.buyerId)}::uuid[], ${keys.map((k) => k.after?.createdAt ?? null)}::timestamptz[],
                  ${keys.map((k) => k.after?.id ?? null)}::uuid[], ${keys.map((k) => k.take)}::int[])
           WITH ORDINALITY AS k(buyer_id, after_created_at, after_id, take, idx)
      CROSS JOIN LATERAL (
        SELECT * FROM orders
        WHERE orders.buyer_id = k.buyer_id
          AND (k.after_created_at IS NULL OR (orders.created_at, orders.id) < (k.after_created_at, k.after_id))
        ORDER BY orders.created_at DESC, orders.id DESC
        LIMIT k.take
      ) o
      ORDER BY k.idx, o.created_at DESC, o.id DESC`;
    const pages = keys.map((): OrderRecord[] => []);
    for (const { idx, ...row } of rows) pages[idx - 1]!.push({ ...row, createdAt: new Date(row.createdAt) });
    return pages;
  }

  /** How many orders each buyer has. */
  async countByBuyers(buyerIds: readonly string[]): Promise<number[]> {
    const rows = await this.prisma.order.groupBy({
      by: ["buyerId"],
      where: { buyerId: { in: [...new Set(buyerIds)] } },
      _count: { _all: true },
    });
    const counts = new Map(rows.map((r) => [r.buyerId, r._count._all]));
    return buyerIds.map((id) => counts.get(id) ?? 0);
  }

  /**
   * Applies a saga transition (see domain/order-status.ts) to an order: the status change, its timeline entry and its
   * event (`order.confirmed.v1` / `order.cancelled.v1`) are written together, and only if the status is still the one
   * the decision was made on (a concurrent transition makes this one fail instead of being lost). Returns null when
   * the order does not exist.
   * @throws InvalidTransitionError for a transition the state machine refuses.
   */
  async transition(orderId: string, transition: OrderTransition, at: Date = new Date()): Promise<TransitionOutcome | null> {
    return this.prisma.$transaction((tx) => OrdersRepository.transitionIn(tx, orderId, transition, at));
  }

  /**
   * {@link OrdersRepository.transition} inside the caller's transaction `tx` (the saga's reply handler, on Prisma or
   * on plain pg). Raw SQL, one statement for the change and its timeline entry (TRANSITION_SQL) and one for its
   * event: the orchestrator runs it in every checkout's last transition.
   */
  static async transitionIn(
    tx: SqlTransaction,
    orderId: string,
    transition: OrderTransition,
    at: Date = new Date(),
  ): Promise<TransitionOutcome | null> {
    // The domain decides what the change from PENDING (the only state a transition leaves) would be; the statement
    // makes it only if the order is PENDING, and returns the status it found otherwise, for the domain to judge.
    const expected = applyTransition({ status: "PENDING" }, transition);
    if (expected.kind !== "changed") throw new Error(`a ${transition.type} from PENDING changes nothing`);
    const [row] = await tx.$queryRawUnsafe<TransitionRow[]>(
      TRANSITION_SQL,
      orderId,
      expected.to,
      expected.entry.step,
      expected.entry.detail,
      at.toISOString(),
    );
    if (!row) return null;
    if (row.buyerId === null) {
      // The statement saw the order PENDING but could not change it: another transaction changed it meanwhile.
      if (row.status === "PENDING") throw new Error(`Order ${orderId} changed status concurrently; retry the transition.`);
      return applyTransition({ status: row.status }, transition);
    }
    const facts = { orderId, buyerId: row.buyerId, totalAmount: row.totalAmount!, currency: row.currency! };
    if (expected.to === "CONFIRMED") {
      await outbox.write(tx, { type: "order.confirmed.v1", aggregateId: orderId, payload: { ...facts, detail: expected.entry.detail } });
    } else if (expected.to === "CANCELLED") {
      await outbox.write(tx, {
        type: "order.cancelled.v1",
        aggregateId: orderId,
        payload: { ...facts, reason: expected.entry.detail ?? "cancelled" },
      });
    }
    return expected;
  }

  /** Appends a timeline entry in `tx` (a saga step or compensation): one raw INSERT, on Prisma or on plain pg. */
  static async appendTimeline(
    tx: SqlTransaction,
    orderId: string,
    entry: { step: string; status: string; detail: string | null },
    at = new Date(),
  ) {
    await tx.$executeRawUnsafe(
      `INSERT INTO order_events (order_id, at, step, status, detail) VALUES ($1::uuid, $2::timestamptz, $3, $4, $5)`,
      orderId,
      at.toISOString(),
      entry.step,
      entry.status,
      entry.detail,
    );
  }

  /**
   * Inserts a complete order with the given id and timeline unless it exists (seed). Returns whether it was
   * inserted.
   */
  async insertIfMissing(
    order: NewOrder & { id: string; status: OrderStatus; createdAt: Date; timeline: OrderEventRecord[] },
  ): Promise<boolean> {
    const exists = await this.prisma.order.findUnique({ where: { id: order.id }, select: { id: true } });
    if (exists) return false;
    try {
      await this.prisma.order.create({
        data: {
          id: order.id,
          buyerId: order.buyerId,
          status: order.status,
          totalAmount: order.totalAmount,
          currency: order.currency,
          paymentToken: order.paymentToken,
          idempotencyKey: order.idempotencyKey,
          requestHash: order.requestHash,
          createdAt: order.createdAt,
          updatedAt: order.timeline.at(-1)?.at ?? order.createdAt,
          items: { create: order.items.map((item, position) => ({ position, ...item })) },
          events: { create: order.timeline },
        },
        select: { id: true },
      });
      return true;
    } catch (error) {
      // Two seeds at once: the other one inserted it.
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") return false;
      throw error;
    }
  }
}

/** Groups `rows` by order id, in the order of `orderIds` (an empty list where an order has none). */
function groupBy<R extends { orderId: string }, T>(orderIds: readonly string[], rows: readonly R[], map: (row: R) => T): T[][] {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    let group = groups.get(row.orderId);
    if (!group) groups.set(row.orderId, (group = []));
    group.push(map(row));
  }
  return orderIds.map((id) => groups.get(id) ?? []);
}

/** The DataLoaders of one request. */
export interface Loaders {
  orderById: DataLoader<string, OrderRecord | null>;
  itemsByOrderId: DataLoader<string, OrderItemRecord[]>;
  timelineByOrderId: DataLoader<string, OrderEventRecord[]>;
  ordersPage: DataLoader<OrderPageKey, OrderRecord[], string>;
  orderCountByBuyer: DataLoader<string, number>;
}

/** Fresh loaders for one request: listing N orders costs one statement for orders, items and timeline each. */
export function createLoaders(repo: OrdersRepository, options: Partial<LoaderOptions> = {}): Loaders {
  return {
    orderById: new DataLoader((ids) => repo.findByIds(ids), { ...options }),
    itemsByOrderId: new DataLoader((ids) => repo.findItemsByOrderIds(ids), { ...options }),
    timelineByOrderId: new DataLoader((ids) => repo.findTimelineByOrderIds(ids), { ...options }),
    ordersPage: new DataLoader((keys) => repo.findPages(keys), {
      ...options,
      cacheKeyFn: (key) => JSON.stringify([key.buyerId, key.take, key.after]),
    }),
    orderCountByBuyer: new DataLoader((ids) => repo.countByBuyers(ids), { ...options }),
  };
}
