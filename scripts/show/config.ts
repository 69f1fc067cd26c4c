/**
 * `npm run show -- config`: a limit changed live with `npm run config` (the request deadline, `resilience.deadlineMs`,
 * to 1 ms) and the gateway refusing the very next requests with `SUBGRAPH_UNAVAILABLE` "deadline exceeded" within
 * a second, without a restart; then `npm run config -- rollback` and the same request answered again.
 */
import { ShowFailure, describeErrors, type GqlAnswer, type Show } from "./lib.ts";
import { LiveConfig } from "./live-config.ts";

const QUERY = "query Total { products(first: 1) { totalCount } }";
const KEY = "resilience.deadlineMs";

const reasonOf = (answer: GqlAnswer) => answer.errors?.[0]?.extensions?.["reason"];

function describe(answer: GqlAnswer<{ products: { totalCount: number } | null }>): string {
  if (!answer.errors) return `answered: ${answer.data?.products?.totalCount} products (${Math.round(answer.ms)} ms)`;
  return `refused: ${describeErrors(answer)}, reason "${String(reasonOf(answer))}" (${Math.round(answer.ms)} ms)`;
}

export async function showConfig(show: Show): Promise<void> {
  const config = await LiveConfig.open(show);
  const ask = () => show.gql<{ products: { totalCount: number } | null }>(QUERY);
  const gatewayVersion = async () => (await show.metrics(show.env.gatewayOrigin)).value("live_config_version");

  show.step("before");
  const before = await ask();
  if (before.errors) throw new ShowFailure(`the query fails before any change: ${describe(before)}`);
  show.say(`${QUERY} -> ${describe(before)}; gateway on config version ${await gatewayVersion()}`);
  if ((await config.own(KEY)) !== undefined)
    throw new ShowFailure(`${KEY} is already set live (${JSON.stringify(await config.own(KEY))}): unset it first`);

  show.step("a 1 ms request deadline, live");
  let changed = false;
  show.defer(async () => {
    // A show that failed half-way leaves nothing behind.
    if (changed && (await config.own(KEY)) !== undefined) await config.run("unset", KEY, "-m", "show config: cleanup");
  });
  await config.run("set", KEY, "1", "-m", "show config: 1 ms deadline");
  changed = true;
  const version = await config.version();
  const t0 = performance.now();
  const refused = await show.waitFor(
    "the gateway applying the new deadline",
    async () => {
      const answer = await ask();
      return reasonOf(answer) === "deadline exceeded" ? answer : undefined;
    },
    { timeoutMs: 5000, everyMs: 20 },
  );
  show.say(`${Math.round(performance.now() - t0)} ms after the change: ${describe(refused)}`);
  show.say(`gateway on config version ${await gatewayVersion()} (live_config_version), no restart`);
  if ((await gatewayVersion()) < version)
    throw new ShowFailure(`the gateway reports config version ${await gatewayVersion()}, not ${version}`);

  show.step("rolled back");
  await config.run("rollback", "-m", "show config: back");
  const t1 = performance.now();
  const answered = await show.waitFor(
    "the gateway applying the rollback",
    async () => {
      const answer = await ask();
      return answer.errors ? undefined : answer;
    },
    { timeoutMs: 5000, everyMs: 20 },
  );
  show.say(`${Math.round(performance.now() - t1)} ms after the rollback: ${describe(answered)}`);
  await config.run("diff");
}
