/**
 * `npm run show -- gateway`: what the gateway refuses before any subgraph works, and how subgraphs know who calls.
 *
 * 1. Authentication and authorization: anonymous and customer calls to an ADMIN mutation refused, a token forged
 *    with another key (claiming ADMIN) refused with HTTP 401 before anything executes.
 * 2. Query limits: a depth bomb (User.orders -> Order.buyer -> User.orders ...) and an alias flood refused with
 *    QUERY_TOO_COMPLEX before planning, counted in `gateway_query_limit_refusals_total{rule}`.
 * 3. Signed subgraph calls: a direct, unsigned call to a subgraph claiming a user's identity is refused (401); the
 *    same call signed as the gateway signs (K(gateway -> orders), packages/auth signing.ts) is served; a signed call
 *    whose body was changed afterwards is refused.
 */
import { createTokenIssuer, IDENTITY_HEADERS, loadSigningKey } from "@ecom/auth";
import { demoUsers } from "@ecom/demo-data";
import { NotAvailable, ShowFailure, codesOf, describeErrors, type GqlAnswer, type Show } from "./lib.ts";
import { callSubgraph, type SubgraphAnswer } from "./signing.ts";

const RESTOCK = "mutation Restock($id: ID!) { restock(productId: $id, quantity: 1) { stock } }";

/** `me { orders { ... buyer { orders { ... } } } }`, `levels` times: depth grows by 5 a level. */
export function depthBomb(levels: number): string {
  let inner = "id";
  for (let i = 0; i < levels; i++) inner = `orders(first: 1) { edges { node { buyer { ${inner} } } } }`;
  return `query DepthBomb { me { ${inner} } }`;
}

const line = (what: string, a: GqlAnswer) =>
  `${what} -> HTTP ${a.status} ${codesOf(a).join(", ") || "no error"}${a.errors?.[0] ? `: ${a.errors[0].message}` : ""}`;

async function expectCode(show: Show, what: string, answer: GqlAnswer, code: string, status?: number): Promise<void> {
  show.say(line(what, answer));
  if (!codesOf(answer).includes(code)) throw new ShowFailure(`${what}: expected ${code}, got ${describeErrors(answer)}`);
  if (status !== undefined && answer.status !== status) throw new ShowFailure(`${what}: expected HTTP ${status}, got ${answer.status}`);
}

export async function showGateway(show: Show): Promise<void> {
  const products = await show.gql<{ products: { edges: Array<{ node: { id: string } }> } }>(
    "{ products(first: 1) { edges { node { id } } } }",
  );
  const productId = products.data?.products.edges[0]?.node.id;
  if (!productId) throw new ShowFailure(`no product to restock: ${describeErrors(products)}`);

  show.step("authentication and roles (restock is ADMIN only)");
  await expectCode(show, "anonymous restock", await show.gql(RESTOCK, { variables: { id: productId } }), "UNAUTHENTICATED");
  const alice = await show.login("alice@example.com");
  await expectCode(show, "alice (CUSTOMER) restock", await show.gql(RESTOCK, { token: alice, variables: { id: productId } }), "FORBIDDEN");
  // A well-formed token for alice claiming ADMIN, signed with a key of our own instead of the users service's.
  const forger = createTokenIssuer(await loadSigningKey(), { issuer: "ecom-users", audience: "ecom-gateway", ttlSeconds: 300 });
  const aliceId = demoUsers.find((u) => u.email === "alice@example.com")!.id;
  const bobId = demoUsers.find((u) => u.email === "bob@example.com")!.id;
  const forged = await forger({ id: aliceId, role: "ADMIN" });
  const refused = await show.gql(RESTOCK, { token: forged, variables: { id: productId } });
  await expectCode(show, "a token claiming ADMIN, signed with another key", refused, "UNAUTHENTICATED", 401);
  show.say(`  WWW-Authenticate: ${refused.headers.get("www-authenticate") ?? "-"}`);

  show.step("query limits, before any planning or subgraph call");
  const metrics = async () => await show.metrics(show.env.gatewayOrigin);
  const before = await metrics();
  if (!before.text.includes("gateway_query_limit_refusals_total"))
    throw new NotAvailable("query limits at the gateway (gateway_query_limit_refusals_total is not on its /metrics)");
  const bomb = depthBomb(6);
  const deep = await show.gql(bomb, { token: alice });
  await expectCode(show, `a depth bomb (${bomb.length} characters, User.orders -> Order.buyer x6)`, deep, "QUERY_TOO_COMPLEX", 400);
  const ext = deep.errors?.[0]?.extensions ?? {};
  show.say(`  rule ${String(ext["rule"])}, limit ${String(ext["limit"])}, measured ${String(ext["measured"])}`);
  const aliases = `query AliasFlood { ${Array.from({ length: 100 }, (_, i) => `a${i}: categories { id }`).join(" ")} }`;
  const flood = await show.gql(aliases);
  await expectCode(show, "100 aliases of categories", flood, "QUERY_TOO_COMPLEX", 400);
  show.say(
    `  rule ${String(flood.errors?.[0]?.extensions?.["rule"])}, limit ${String(flood.errors?.[0]?.extensions?.["limit"])}, measured ${String(flood.errors?.[0]?.extensions?.["measured"])}`,
  );
  const after = await metrics();
  for (const rule of ["depth", String(flood.errors?.[0]?.extensions?.["rule"])]) {
    const delta =
      after.value("gateway_query_limit_refusals_total", { rule }) - before.value("gateway_query_limit_refusals_total", { rule });
    show.say(`  gateway_query_limit_refusals_total{rule="${rule}"} +${delta}`);
    if (delta < 1) throw new ShowFailure(`no refusal counted for rule ${rule}`);
  }

  show.step("subgraph calls: signed by the gateway, refused otherwise");
  const orders = `http://127.0.0.1:${show.subgraphPort("orders")}/graphql`;
  const myOrders = {
    query: "query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { orders(first: 1) { totalCount } } } }",
    variables: { r: [{ __typename: "User", id: aliceId }] },
  };
  const asAlice = { [IDENTITY_HEADERS.userId]: aliceId, [IDENTITY_HEADERS.role]: "CUSTOMER" };
  const describeDirect = (a: SubgraphAnswer) => {
    const e = a.body.errors?.[0];
    return `HTTP ${a.status}${e ? ` ${e.extensions?.code ?? "?"}${e.extensions?.reason ? ` (${e.extensions.reason})` : ""}` : ""}`;
  };
  const unsigned = await callSubgraph(show, "orders", orders, myOrders, {
    sign: false,
    headers: { ...asAlice, [IDENTITY_HEADERS.role]: "ADMIN" },
  });
  show.say(`orders called directly, unsigned, with identity headers claiming alice as ADMIN -> ${describeDirect(unsigned)}`);
  if (unsigned.status !== 401)
    throw new ShowFailure(`an unsigned call was not refused with 401: ${JSON.stringify(unsigned.body).slice(0, 300)}`);
  const signed = await callSubgraph(show, "orders", orders, myOrders, { headers: asAlice });
  const total = (signed.body.data as { _entities?: Array<{ orders?: { totalCount?: number } }> } | undefined)?._entities?.[0]?.orders
    ?.totalCount;
  show.say(`the same call signed as the gateway for alice -> ${describeDirect(signed)}, alice has ${total} orders`);
  if (signed.status !== 200 || total === undefined)
    throw new ShowFailure(`a call signed as the gateway was not served: ${JSON.stringify(signed.body).slice(0, 300)}`);
  const tampered = await callSubgraph(show, "orders", orders, myOrders, {
    headers: asAlice,
    tamperedBody: JSON.stringify({ ...myOrders, variables: { r: [{ __typename: "User", id: bobId }] } }),
  });
  show.say(`signed for alice, then the body changed to ask for bob's orders -> ${describeDirect(tampered)}`);
  if (tampered.status !== 401) throw new ShowFailure("a tampered body was served");
}
