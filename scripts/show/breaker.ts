/**
 * `npm run show -- breaker`: the inventory subgraph dies (SIGKILL: a crash), its circuit breaker in the gateway
 * goes OPEN, answers stay partial (products resolve, the stock field is SUBGRAPH_UNAVAILABLE at once), then
 * `npm start`'s supervisor restarts inventory, HALF_OPEN probes pass and the breaker is CLOSED again.
 */
import { demoProducts } from "@ecom/demo-data";
import { ShowFailure, sleep, type GqlAnswer, type Show } from "./lib.ts";
import { listenerPid } from "./processes.ts";

const SUBGRAPH = "inventory";
const QUERY = "query Partial($id: ID!) { products(first: 2) { edges { node { name } } } product(id: $id) { name stock } }";
const STATES = ["CLOSED", "HALF_OPEN", "OPEN"] as const;
/** The transitions in the order a reader expects them within one poll. */
const EDGES = ["CLOSED -> OPEN", "OPEN -> HALF_OPEN", "HALF_OPEN -> OPEN", "HALF_OPEN -> CLOSED", "CLOSED -> HALF_OPEN", "OPEN -> CLOSED"];

type Answer = GqlAnswer<{ products: { edges: Array<{ node: { name: string } }> } | null; product: { name: string; stock: number } | null }>;

function describe(answer: Answer): string {
  const names = answer.data?.products?.edges.length ?? 0;
  const error = answer.errors?.[0];
  if (!error) return `complete: ${names} products, stock ${answer.data?.product?.stock} (${Math.round(answer.ms)} ms)`;
  const ext = error.extensions ?? {};
  return `partial: ${names} products resolved, product.stock ${String(ext["code"])} reason "${String(ext["reason"])}" breakerState ${String(ext["breakerState"] ?? "?")} (${Math.round(answer.ms)} ms)`;
}

export async function showBreaker(show: Show): Promise<void> {
  const id = demoProducts[0]!.id;
  const ask = () => show.gql(QUERY, { variables: { id } }) as Promise<Answer>;
  const transitions = async () => {
    const m = await show.metrics(show.env.gatewayOrigin);
    const counts = new Map<string, number>();
    for (const edge of EDGES) {
      const [from, to] = edge.split(" -> ") as [string, string];
      counts.set(edge, m.value("gateway_breaker_transitions_total", { subgraph: SUBGRAPH, from, to }));
    }
    return { counts, state: STATES[m.value("gateway_breaker_state", { subgraph: SUBGRAPH })] ?? "?" };
  };

  show.step(`before: ${SUBGRAPH} up`);
  const before = await ask();
  if (before.errors) throw new ShowFailure(`the query already fails before anything is stopped: ${describe(before)}`);
  let seen = await transitions();
  show.say(`breaker of ${SUBGRAPH}: ${seen.state}; ${describe(before)}`);
  if (seen.state !== "CLOSED")
    throw new ShowFailure(`the breaker of ${SUBGRAPH} is ${seen.state} before the show: wait a few seconds and run it again`);

  const port = show.subgraphPort(SUBGRAPH);
  const pid = await listenerPid(port);
  show.step(`${SUBGRAPH} (pid ${pid}, :${port}) killed with SIGKILL; npm start's supervisor will restart it`);
  process.kill(pid, "SIGKILL");

  const ready = () =>
    fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(500) }).then(
      (r) => r.ok,
      () => false,
    );
  let back = false;
  const happened = new Set<string>();
  let partials = 0;
  let fastFails = 0;
  let shownPartial = false;
  let shownFast = false;
  const deadline = Date.now() + show.env.waitMs * 2;
  for (;;) {
    const answer = await ask();
    const now = await transitions();
    for (const [edge, count] of now.counts) {
      const times = count - (seen.counts.get(edge) ?? 0);
      if (times > 0) {
        happened.add(edge);
        show.say(`breaker of ${SUBGRAPH}: ${edge}${times > 1 ? ` (${times} times)` : ""}`);
      }
    }
    if (!back && (await ready())) {
      back = true;
      show.say(`${SUBGRAPH} answers /health/ready again (restarted by npm start)`);
    }
    seen = now;
    if (answer.errors) {
      partials++;
      const reason = String(answer.errors[0]?.extensions?.["reason"]);
      if (!shownPartial) {
        show.say(describe(answer));
        shownPartial = true;
      }
      if (reason === "circuit open") {
        fastFails++;
        if (!shownFast) {
          show.say(`while OPEN the call is not even sent: ${describe(answer)}`);
          shownFast = true;
        }
      }
    } else if (happened.has("HALF_OPEN -> CLOSED") && now.state === "CLOSED") {
      show.say(`${SUBGRAPH} restarted, probes passed: ${describe(answer)}`);
      break;
    }
    if (Date.now() > deadline) {
      const missing = ["CLOSED -> OPEN", "OPEN -> HALF_OPEN", "HALF_OPEN -> CLOSED"].filter((e) => !happened.has(e));
      throw new ShowFailure(
        `within ${Math.round((show.env.waitMs * 2) / 1000)} s the breaker of ${SUBGRAPH} did not go through ${missing.join(", ")} (now ${now.state}; is ${SUBGRAPH} supervised by npm start, and did it restart?)`,
      );
    }
    await sleep(150);
  }
  show.say(`${partials} partial answers while ${SUBGRAPH} was down, ${fastFails} of them refused at once by the open breaker`);
  for (const edge of ["CLOSED -> OPEN", "OPEN -> HALF_OPEN", "HALF_OPEN -> CLOSED"]) {
    if (!happened.has(edge)) throw new ShowFailure(`the breaker never went ${edge}`);
  }
  if (fastFails === 0) throw new ShowFailure('no answer was refused by the open breaker (reason "circuit open")');
}
