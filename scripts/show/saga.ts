/**
 * `npm run show -- saga`: a checkout whose payment is declined (`tok_chargeDeclined`), followed step by step in the
 * order's timeline as the checkout saga runs and compensates it (stock reserved, charge declined, reservation
 * released, order CANCELLED), with the product's stock back where it was.
 */
import { randomUUID } from "node:crypto";
import { createClient, OrderDocument, PlaceOrderDocument } from "@ecom/client";
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
  const deadline = Date.now() + show.env.waitMs;
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
    throw new NotAvailable(
      `the checkout saga: order ${placeOrder.id} stayed PENDING for ${Math.round(show.env.waitMs / 1000)} s (timeline steps: ${steps}); nothing runs the checkout in this tree yet`,
    );
  }
  show.say(`order ${placeOrder.id}: ${status}`);
  if (status !== "CANCELLED") throw new ShowFailure(`a declined payment ended ${status}, not CANCELLED`);
  const stockAfter = await show.waitFor("the stock coming back", async () => {
    const s = await stockOf(product.id);
    return s === stockBefore ? s : undefined;
  });
  show.say(`stock of ${product.name}: ${stockBefore} before, ${lowest} while reserved, ${stockAfter} after the compensation`);
}
