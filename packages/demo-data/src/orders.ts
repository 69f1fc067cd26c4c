/**
 * Demo orders: a few completed checkouts of the demo customers. The orders subgraph seeds them; the payments
 * subgraph seeds one CAPTURED payment per order from the same definitions, so both agree without either
 * reading the other's database.
 */
import { demoId } from "./ids.ts";
import type { DemoProduct, DemoUser } from "./index.ts";

/** One line of a demo order, priced at the product's demo price. */
export interface DemoOrderItem {
  productId: string;
  sku: string;
  quantity: number;
  /** Minor units. */
  unitAmount: number;
  currency: string;
}

/** One timeline entry of a demo order. */
export interface DemoOrderEvent {
  /** ISO-8601. */
  at: string;
  step: string;
  status: string;
  detail: string | null;
}

/** A demo order after a successful checkout. */
export interface DemoOrder {
  /** `demoId("order", key)`. */
  id: string;
  /** Natural key, e.g. `alice-1`. */
  key: string;
  buyerId: string;
  buyerEmail: string;
  status: "CONFIRMED";
  /** The key the order was placed with (`demo-<key>`). */
  idempotencyKey: string;
  paymentToken: "tok_visa";
  items: readonly DemoOrderItem[];
  /** Sum of quantity x unitAmount, minor units. */
  totalAmount: number;
  currency: string;
  /** ISO-8601; also the `order PLACED` entry. */
  createdAt: string;
  /** ISO-8601 of the `payment CAPTURED` entry: when the payment of `totalAmount` was captured. */
  capturedAt: string;
  /** order PLACED, inventory RESERVED, payment CAPTURED, order CONFIRMED. */
  timeline: readonly DemoOrderEvent[];
}

interface OrderTemplate {
  key: string;
  email: string;
  placedAt: string;
  items: Array<[sku: string, quantity: number]>;
}

const templates: OrderTemplate[] = [
  {
    key: "alice-1",
    email: "alice@example.com",
    placedAt: "2026-10-02T09:15:00.000Z",
    items: [
      ["ELE-0101", 1],
      ["BOO-0203", 2],
    ],
  },
  { key: "alice-2", email: "alice@example.com", placedAt: "2026-10-14T18:40:00.000Z", items: [["HOM-0302", 1]] },
  {
    key: "alice-3",
    email: "alice@example.com",
    placedAt: "2026-11-03T12:05:00.000Z",
    items: [
      ["SPO-0105", 1],
      ["SPO-0401", 2],
    ],
  },
  {
    key: "bob-1",
    email: "bob@example.com",
    placedAt: "2026-10-08T08:30:00.000Z",
    items: [
      ["OFF-0101", 1],
      ["OFF-0304", 1],
    ],
  },
  {
    key: "bob-2",
    email: "bob@example.com",
    placedAt: "2026-11-10T20:10:00.000Z",
    items: [
      ["TOY-0102", 1],
      ["TOY-0305", 3],
    ],
  },
];

const later = (iso: string, seconds: number) => new Date(Date.parse(iso) + seconds * 1000).toISOString();

/** Builds the demo orders from the demo users and products (called once by the package index). */
export function buildDemoOrders(users: readonly DemoUser[], products: readonly DemoProduct[]): DemoOrder[] {
  return templates.map((t) => {
    const buyer = users.find((u) => u.email === t.email);
    if (!buyer) throw new Error(`demo order ${t.key}: no demo user ${t.email}`);
    const items = t.items.map(([sku, quantity]) => {
      const product = products.find((p) => p.sku === sku);
      if (!product) throw new Error(`demo order ${t.key}: no demo product ${sku}`);
      return { productId: product.id, sku, quantity, unitAmount: product.priceAmount, currency: product.currency };
    });
    const totalAmount = items.reduce((sum, i) => sum + i.quantity * i.unitAmount, 0);
    const currency = items[0]!.currency;
    const units = items.reduce((sum, i) => sum + i.quantity, 0);
    const capturedAt = later(t.placedAt, 4);
    return {
      id: demoId("order", t.key),
      key: t.key,
      buyerId: buyer.id,
      buyerEmail: buyer.email,
      status: "CONFIRMED" as const,
      idempotencyKey: `demo-${t.key}`,
      paymentToken: "tok_visa" as const,
      items,
      totalAmount,
      currency,
      createdAt: t.placedAt,
      capturedAt,
      timeline: [
        { at: t.placedAt, step: "order", status: "PLACED", detail: null },
        { at: later(t.placedAt, 2), step: "inventory", status: "RESERVED", detail: `${units} unit${units === 1 ? "" : "s"} reserved` },
        { at: capturedAt, step: "payment", status: "CAPTURED", detail: `${totalAmount} ${currency} captured` },
        { at: later(t.placedAt, 5), step: "order", status: "CONFIRMED", detail: null },
      ],
    };
  });
}
