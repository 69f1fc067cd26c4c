/**
 * `npm run show -- ratelimit`: one rule added live for the show's own operation (`ShowBurst`: a token bucket of 5,
 * refilled with 1 token a second, per client address), a burst of 8 refused from the 6th with HTTP 429,
 * `RATE_LIMITED` and `Retry-After`; after waiting `Retry-After` one more request passes (the bucket refilled one
 * token) and the next is refused again. The rule list is put back as it was. Every other operation keeps the
 * rules in force (the show's rule matches its operation name only).
 */
import { NotAvailable, ShowFailure, sleep, type GqlAnswer, type Show } from "./lib.ts";
import { LiveConfig } from "./live-config.ts";

const RULE = {
  id: "show-burst",
  algorithm: "token-bucket",
  key: ["ip"],
  match: { operations: ["ShowBurst"] },
  limit: 5,
  refill: { tokens: 1, every: "1s" },
};
const QUERY = "query ShowBurst { categories { id } }";
const KEY = "rateLimit.rules";

function describe(i: number, a: GqlAnswer): string {
  const headers = `RateLimit: ${a.headers.get("ratelimit") ?? "-"}`;
  if (a.status === 200 && !a.errors) return `#${i} 200 answered   ${headers}`;
  const e = a.errors?.[0];
  return `#${i} ${a.status} ${String(e?.extensions?.code)} Retry-After: ${a.headers.get("retry-after") ?? "-"}  "${e?.message ?? ""}"`;
}

export async function showRatelimit(show: Show): Promise<void> {
  const config = await LiveConfig.open(show);
  const rules = await config.effective(KEY);
  if (!Array.isArray(rules)) throw new NotAvailable(`the live configuration has no ${KEY} (rate limiting has not landed in this tree)`);
  const before = await config.own(KEY);
  const rejections = async () =>
    (await show.metrics(show.env.gatewayOrigin)).value("gateway_rate_limit_rejections_total", { rule: RULE.id });

  show.step(`a rule for the ShowBurst operation, added live to the ${rules.length} rules in force`);
  show.defer(() =>
    before === undefined
      ? config.run("unset", KEY, "-m", "show ratelimit: done")
      : config.run("set", KEY, JSON.stringify(before), "-m", "show ratelimit: put back"),
  );
  await config.run(
    "set",
    KEY,
    JSON.stringify([...(rules as unknown[]).filter((r) => (r as { id?: string }).id !== RULE.id), RULE]),
    "-m",
    "show ratelimit: a bucket of 5, 1/s",
  );
  const version = await config.version();
  await show.waitFor(
    "the gateway applying the new rules",
    async () => (await show.metrics(show.env.gatewayOrigin)).value("live_config_version") >= version,
  );
  show.say(
    `rule ${RULE.id}: token bucket of ${RULE.limit}, refilled ${RULE.refill.tokens} every ${RULE.refill.every}, key: client address`,
  );
  const rejectedBefore = await rejections();

  show.step("a burst of 8");
  const answers: GqlAnswer[] = [];
  for (let i = 1; i <= 8; i++) {
    const a = await show.gql(QUERY);
    answers.push(a);
    show.say(describe(i, a));
  }
  const passed = answers.filter((a) => a.status === 200 && !a.errors).length;
  const refused = answers.filter((a) => a.status === 429 && a.errors?.[0]?.extensions?.code === "RATE_LIMITED");
  if (passed !== RULE.limit || refused.length !== 8 - RULE.limit)
    throw new ShowFailure(
      `expected ${RULE.limit} answered and ${8 - RULE.limit} refused with 429 RATE_LIMITED, got ${passed} and ${refused.length}`,
    );
  const retryAfter = Number(refused[0]!.headers.get("retry-after"));
  if (!Number.isFinite(retryAfter) || retryAfter < 1)
    throw new ShowFailure(`the 429 had no usable Retry-After (${refused[0]!.headers.get("retry-after")})`);

  show.step(`waiting Retry-After (${retryAfter} s): the bucket refills ${RULE.refill.tokens} token per second, continuously`);
  const waitedFrom = performance.now();
  await sleep(retryAfter * 1000);
  let refilled = 0;
  for (let i = 9; i <= 14; i++) {
    const a = await show.gql(QUERY);
    show.say(describe(i, a));
    if (a.status !== 200 || a.errors) break;
    refilled++;
  }
  const seconds = (performance.now() - waitedFrom) / 1000;
  show.say(`${refilled} request(s) passed ${seconds.toFixed(1)} s after the refusal, then the bucket was empty again`);
  if (refilled < 1) throw new ShowFailure(`after Retry-After (${retryAfter} s) the request was still refused`);
  if (refilled > Math.ceil(seconds * RULE.refill.tokens) + 1)
    throw new ShowFailure(`${refilled} passed: more than the bucket can have refilled in ${seconds.toFixed(1)} s`);
  if (refilled === 6) throw new ShowFailure("the bucket never emptied again");
  const counted = (await rejections()) - rejectedBefore;
  show.say(`gateway_rate_limit_rejections_total{rule="${RULE.id}"} +${counted}`);
  if (counted < 4) throw new ShowFailure(`the gateway counted ${counted} refusals, not at least 4`);
}
