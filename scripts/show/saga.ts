/**
 * `npm run show -- saga`: a checkout whose payment is declined (`tok_chargeDeclined`), followed step by step in the
 * order's timeline as the checkout saga runs and compensates it (stock reserved, charge declined, reservation
 * released, order CANCELLED), with the product's stock back where it was. Then a TCC reservation left to expire:
 * the show sends inventory the saga's own try command (`reservation.reserve.v1`, 1 unit, a 2 s TTL) for an order
 * that has no saga, so nothing confirms or cancels it, and watches inventory's expiry scheduler give the unit back.
 */
import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import pg from "pg";
import { createClient, OrderDocument, PlaceOrderDocument } from "@ecom/client";
import { databaseUrlFor } from "@ecom/config";
import { parsePgUrl } from "@ecom/db";
import { commandQueueName, jobOptionsOf } from "@ecom/events";
import { makeMessage } from "@ecom/events/testing";
import { NotAvailable, ShowFailure, describeErrors, sleep, type Show } from "./lib.ts";

type TimelineEntry = { at: string; step: string; status: string; detail?: string | null };

export async function showSaga(show: Show): Promise<void> {
  const token = await show.login("alice@example.com");
  const client = createClient({ url: show.env.gatewayUrl, token });
  const stockOf = async (id: string) => {
    const a = await show.gql<{ product: { stock: number } | null }>("query Stock($id: ID!) { product(id: $id) { stock } }", {
      variables: { id },
    });
    if (a.data?.product?.stock === undefined) throw new ShowFailure(`could not read the stock of ${id}: ${describeErrors(a)}`);
    return a.data.product.stock;
  };
  const listed = await show.gql<{ products: { edges: Array<{ node: { id: string; name: string; stock: number } }> } }>(
    "{ products(first: 50) { edges { node { id name stock } } } }",
  );
  const product = listed.data?.products.edges.map((e) => e.node).find((p) => p.stock >= 2);
  if (!product) throw new ShowFailure(`no product with stock to order: ${describeErrors(listed)}`);

  show.step(`a declined checkout: 2 x ${product.name} (stock ${product.stock}) paid with tok_chargeDeclined`);
  const stockBefore = await stockOf(product.id);
  const { placeOrder } = await client.request(PlaceOrderDocument, {
    input: { items: [{ productId: product.id, quantity: 2 }], paymentToken: "tok_chargeDeclined", idempotencyKey: `show-${randomUUID()}` },
  });
  show.say(`placeOrder -> order ${placeOrder.id} ${placeOrder.status}`);

  const seen = new Set<string>();
  const deadline = Date.now() + show.env.waitMs * 2;
  let status: string = placeOrder.status;
  let timeline: TimelineEntry[] = [];
  let lowest = stockBefore;
  while (status === "PENDING" && Date.now() < deadline) {
    const { order } = await client.request(OrderDocument, { id: placeOrder.id });
    if (!order) throw new ShowFailure(`order ${placeOrder.id} vanished`);
    status = order.status;
    timeline = order.timeline as TimelineEntry[];
    for (const e of timeline) {
      const key = `${e.at} ${e.step} ${e.status}`;
      if (seen.has(key)) continue;
      seen.add(key);
      show.say(`timeline: ${e.step.padEnd(20)} ${e.status.padEnd(12)} ${e.detail ?? ""}`);
    }
    lowest = Math.min(lowest, await stockOf(product.id));
    if (status === "PENDING") await sleep(150);
  }
  if (status === "PENDING") {
    const steps = timeline.map((e) => e.step).join(", ") || "none";
    // Only the order's own entry: nothing picked the checkout up (no saga in this tree, or no orders worker).
    if (timeline.every((e) => e.step === "order")) {
      throw new NotAvailable(
        `the checkout saga: order ${placeOrder.id} stayed PENDING for ${Math.round((show.env.waitMs * 2) / 1000)} s with no saga step in its timeline (is the orders worker running?)`,
      );
    }
    throw new ShowFailure(
      `order ${placeOrder.id} is still PENDING after ${Math.round((show.env.waitMs * 2) / 1000)} s (timeline: ${steps})`,
    );
  }
  show.say(`order ${placeOrder.id}: ${status}`);
  if (status !== "CANCELLED") throw new ShowFailure(`a declined payment ended ${status}, not CANCELLED`);
  const stockAfter = await show.waitFor("the stock coming back", async () => {
    const s = await stockOf(product.id);
    return s === stockBefore ? s : undefined;
  });
  show.say(`stock of ${product.name}: ${stockBefore} before, ${lowest} while reserved, ${stockAfter} after the compensation`);
  await showExpiry(show, product, stockOf);
}

/** A TCC try nobody confirms: the reservation expires and inventory's scheduler releases it. */
async function showExpiry(show: Show, product: { id: string; name: string }, stockOf: (id: string) => Promise<number>): Promise<void> {
  show.step(`a TCC reservation nobody confirms: 1 x ${product.name}, ttl 2 s`);
  const pgAdmin = parsePgUrl(show.env.postgresAdminUrl);
  const inventory = new pg.Client({
    connectionString: databaseUrlFor("inventory", { prefix: show.env.databasePrefix, host: pgAdmin.host, port: pgAdmin.port }),
    connectionTimeoutMillis: 5000,
  });
  await inventory.connect();
  show.defer(() => inventory.end().catch(() => {}));
  const queue = new Queue(commandQueueName("inventory"), {
    connection: { url: show.env.redisUrl, maxRetriesPerRequest: 1 },
    prefix: show.env.databasePrefix,
  });
  show.defer(() => queue.close().catch(() => {}));

  const before = await stockOf(product.id);
  const reservationId = randomUUID();
  const message = makeMessage(
    "reservation.reserve.v1",
    reservationId,
    1,
    { reservationId, orderId: reservationId, items: [{ productId: product.id, quantity: 1 }], ttlMs: 2000 },
    { correlationId: `show-${reservationId.slice(0, 12)}`, producer: "npm-run-show" },
  );
  await queue.add(message.type, message, { ...jobOptionsOf(), jobId: message.id });
  show.say(`reservation.reserve.v1 ${reservationId} sent to ${commandQueueName("inventory")} (as the checkout saga's first step sends it)`);
  type Row = { status: string; expires_at: Date | null; updated_at: Date; reason: string | null };
  const read = async () =>
    (
      await inventory.query<Row>("SELECT status::text AS status, expires_at, updated_at, reason FROM reservations WHERE id = $1", [
        reservationId,
      ])
    ).rows[0];
  const held = await show.waitFor("inventory holding the reservation", async () =>
    (await read())?.status === "ACTIVE" ? read() : undefined,
  );
  const during = await stockOf(product.id);
  show.say(
    `inventory: reservation ACTIVE until ${held?.expires_at?.toISOString()}; stock ${before} -> ${during} (available excludes what is held)`,
  );
  if (during !== before - 1) throw new ShowFailure(`stock went ${before} -> ${during} while 1 unit was reserved`);
  const expired = await show.waitFor("inventory's scheduler expiring the reservation", async () => {
    const row = await read();
    return row && row.status !== "ACTIVE" ? row : undefined;
  });
  const late = expired.updated_at.getTime() - (held?.expires_at?.getTime() ?? 0);
  show.say(`inventory: reservation ${expired.status} ${(late / 1000).toFixed(1)} s after it expired ("${expired.reason ?? ""}")`);
  if (expired.status !== "EXPIRED") throw new ShowFailure(`the reservation ended ${expired.status}, not EXPIRED`);
  const after = await show.waitFor("the stock coming back", async () => ((await stockOf(product.id)) === before ? before : undefined));
  show.say(`stock back to ${after}`);
}
