/**
 * `npm run demo`: a scripted journey through the gateway with the typed client (@ecom/client), against a running
 * platform (`npm start` in another terminal): register, log in, search, place an order with `tok_visa` and follow
 * its checkout saga to CONFIRMED (each timeline step printed as it happens), place one with `tok_chargeDeclined`
 * and follow it to CANCELLED with the stock back, then list the notifications. Exits non-zero, naming what was
 * expected, as soon as an expectation fails.
 *
 * DEMO_GATEWAY_URL (default http://localhost:4000/graphql), DEMO_TIMEOUT_MS (default 90000: per saga).
 */
import { randomBytes } from "node:crypto";
import {
  createClient,
  isGraphQLRequestError,
  LoginDocument,
  MyNotificationsDocument,
  OrderDocument,
  PlaceOrderDocument,
  ProductDocument,
  RegisterDocument,
  SearchDocument,
  type Client,
} from "@ecom/client";

const url = process.env["DEMO_GATEWAY_URL"] ?? "http://localhost:4000/graphql";
const timeoutMs = Number(process.env["DEMO_TIMEOUT_MS"] ?? 90_000);
const say = (line = "") => process.stdout.write(`${line}\n`);

class ExpectationError extends Error {}
function expect(condition: unknown, what: string): asserts condition {
  if (!condition) throw new ExpectationError(what);
}
const money = (m: { amount: number; currency: string }) => `${(m.amount / 100).toFixed(2)} ${m.currency}`;

/** Polls the order, printing each new timeline entry, until it leaves PENDING. */
async function follow(client: Client, orderId: string): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let printed = 0;
  for (;;) {
    const { order } = await client.request(OrderDocument, { id: orderId });
    expect(order, `order ${orderId} to be visible to its buyer`);
    for (const entry of order.timeline.slice(printed)) {
      say(`      ${entry.at.slice(11, 23)}  ${entry.step.padEnd(10)} ${entry.status.padEnd(12)} ${entry.detail ?? ""}`);
    }
    printed = order.timeline.length;
    if (order.status !== "PENDING") return order.status;
    expect(
      Date.now() < deadline,
      `order ${orderId} to leave PENDING within ${timeoutMs} ms (are the workers running? see npm start's output)`,
    );
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main() {
  say(`demo: the checkout journey through ${url}`);
  const anonymous = createClient({ url });

  const email = `demo-${randomBytes(4).toString("hex")}@example.com`;
  const password = `pw-${randomBytes(6).toString("hex")}`;
  say(`\n1. register ${email}`);
  const { register } = await anonymous.request(RegisterDocument, { input: { email, password, name: "Demo Shopper" } });
  expect(register.user.email === email, "register to return the new user");

  say("2. log in");
  const { login } = await anonymous.request(LoginDocument, { email, password });
  expect(login.token.length > 0, "login to return a token");
  const client = anonymous.withToken(login.token);

  say('3. search "wireless" (in stock)');
  const { search } = await client.request(SearchDocument, { query: "wireless", filter: { inStock: true }, first: 5 });
  for (const { node } of search.edges) say(`      ${node.name} (${money(node.price)})`);
  const hit = search.edges[0]?.node;
  expect(hit, 'search "wireless" to find a product in stock (is the demo data seeded? `npm start` seeds it)');
  const stockOf = async () => {
    const { product } = await client.request(ProductDocument, { id: hit.id });
    expect(product, `product ${hit.id} to exist`);
    return product.stock;
  };
  const before = await stockOf();
  say(`      picked ${hit.name}: ${before} in stock`);
  expect(before >= 1, `${hit.name} to have stock`);

  say(`\n4. order 1 x ${hit.name}, paid with tok_visa`);
  const paid = await client.request(PlaceOrderDocument, {
    input: {
      items: [{ productId: hit.id, quantity: 1 }],
      paymentToken: "tok_visa",
      idempotencyKey: `demo-${randomBytes(8).toString("hex")}`,
    },
  });
  expect(paid.placeOrder.status === "PENDING", "placeOrder to return the order PENDING");
  say(`      order ${paid.placeOrder.id}, ${money(paid.placeOrder.total)}`);
  const paidStatus = await follow(client, paid.placeOrder.id);
  expect(paidStatus === "CONFIRMED", `the tok_visa order to be CONFIRMED (it is ${paidStatus})`);
  const afterPaid = await stockOf();
  say(`      CONFIRMED; ${hit.name}: ${afterPaid} in stock`);
  expect(afterPaid === before - 1, `the stock to go from ${before} to ${before - 1} (it is ${afterPaid})`);

  say(`\n5. order 1 x ${hit.name}, paid with tok_chargeDeclined`);
  const declined = await client.request(PlaceOrderDocument, {
    input: {
      items: [{ productId: hit.id, quantity: 1 }],
      paymentToken: "tok_chargeDeclined",
      idempotencyKey: `demo-${randomBytes(8).toString("hex")}`,
    },
  });
  say(`      order ${declined.placeOrder.id}, ${money(declined.placeOrder.total)}`);
  const declinedStatus = await follow(client, declined.placeOrder.id);
  expect(declinedStatus === "CANCELLED", `the tok_chargeDeclined order to be CANCELLED (it is ${declinedStatus})`);
  const afterDeclined = await stockOf();
  say(`      CANCELLED; ${hit.name}: ${afterDeclined} in stock (the reservation was released)`);
  expect(afterDeclined === afterPaid, `the stock to be back at ${afterPaid} (it is ${afterDeclined})`);

  say("\n6. notifications");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { me } = await client.request(MyNotificationsDocument, { first: 20 });
    expect(me, "me to be the signed-in user");
    const subjects = me.notifications.map((n) => n.subject);
    const confirmed = subjects.some((s) => /confirmed/i.test(s));
    const cancelled = subjects.some((s) => /cancel/i.test(s));
    if (confirmed && cancelled) {
      for (const n of [...me.notifications].reverse()) say(`      ${n.createdAt.slice(11, 19)}  ${n.channel.padEnd(5)} ${n.subject}`);
      break;
    }
    expect(
      Date.now() < deadline,
      `notifications of the confirmed and the cancelled order within ${timeoutMs} ms (got: ${subjects.join("; ") || "none"})`,
    );
    await new Promise((r) => setTimeout(r, 300));
  }
  say("\ndemo: every expectation met");
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    if (error instanceof ExpectationError) process.stderr.write(`\ndemo FAILED: expected ${error.message}\n`);
    else if (isGraphQLRequestError(error) && error.status === 0)
      process.stderr.write(`\ndemo FAILED: no gateway answers at ${url} (${error.message}): start the platform with \`npm start\` first\n`);
    else if (isGraphQLRequestError(error))
      process.stderr.write(`\ndemo FAILED: ${error.message} (codes: ${error.codes.join(", ") || "none"})\n`);
    else if (error instanceof TypeError && /fetch failed/.test(error.message))
      process.stderr.write(`\ndemo FAILED: no gateway at ${url}: start the platform with \`npm start\` first\n`);
    else process.stderr.write(`\ndemo FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
