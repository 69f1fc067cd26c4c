/**
 * `npm run show -- gateway`: what the gateway refuses before any subgraph works, and how subgraphs know who calls.
 *
 * 1. Authentication and authorization: anonymous and customer calls to an ADMIN mutation refused, a token forged
 *    with another key (claiming ADMIN) refused with HTTP 401 before anything executes.
 * 2. Query limits: a depth bomb (User.orders -> Order.buyer -> User.orders ...) and an alias flood refused with
 *    QUERY_TOO_COMPLEX before planning, counted in `gateway_query_limit_refusals_total{rule}`.
 * 3. Subgraph calls: a direct call to a subgraph with forged identity headers is not trusted; and whether subgraph
 *    calls are signed (a subgraph refusing an unsigned call), which is what the trust work adds.
 */
import { createTokenIssuer, IDENTITY_HEADERS, loadSigningKey } from "@ecom/auth";
import { demoUsers } from "@ecom/demo-data";
import { NotAvailable, ShowFailure, codesOf, describeErrors, type GqlAnswer, type Show } from "./lib.ts";

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

  show.step("subgraph calls: who may say who the caller is");
  const orders = `http://127.0.0.1:${show.subgraphPort("orders")}/graphql`;
  const direct = async (headers: Record<string, string>) => {
    const res = await fetch(orders, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({
        query: "query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { orders(first: 1) { edges { node { id } } } } } }",
        variables: { r: [{ __typename: "User", id: aliceId }] },
      }),
      signal: AbortSignal.timeout(10_000),
    });
    return {
      status: res.status,
      body: (await res.json().catch(() => ({}))) as {
        data?: unknown;
        errors?: Array<{ message: string; extensions?: { code?: string; reason?: string } }>;
      },
    };
  };
  const forgedHeaders = await direct({ [IDENTITY_HEADERS.userId]: aliceId, [IDENTITY_HEADERS.role]: "ADMIN" });
  const forgedCodes = (forgedHeaders.body.errors ?? []).map((e) => e.extensions?.code);
  show.say(
    `orders subgraph called directly with forged identity headers (x-user-id alice, x-user-role ADMIN) -> HTTP ${forgedHeaders.status} ${forgedCodes.join(", ") || "no error"}`,
  );
  if (!forgedCodes.some((c) => c === "UNAUTHENTICATED" || c === "FORBIDDEN") && forgedHeaders.status < 400) {
    throw new ShowFailure(`the orders subgraph trusted forged identity headers: ${JSON.stringify(forgedHeaders.body).slice(0, 300)}`);
  }
  const unsigned = await direct({});
  const reason = unsigned.body.errors?.[0]?.extensions?.reason;
  show.say(`orders subgraph called directly, anonymous and unsigned -> HTTP ${unsigned.status}${reason ? ` (${reason})` : ""}`);
  if (unsigned.status < 400) {
    throw new NotAvailable(
      "signed subgraph calls: subgraphs still answer unsigned calls (identity is vouched for by INTERNAL_SECRET; request signing is the trust work, not in this tree yet)",
    );
  }
  show.say("subgraphs serve only calls signed by the gateway (or a subgraph they trust): a leaked port is not a way in");
}
