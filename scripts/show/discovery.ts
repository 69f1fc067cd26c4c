/**
 * `npm run show -- discovery`: the registry's instances of products, the gateway's calls spread across them; one
 * more instance started beside `npm start` appears in the registry and takes a share of the traffic; stopped, it
 * deregisters and the traffic moves back to the others without a failed request. Needs the platform in registry
 * mode (`npm start -- --scale products=2`, or DISCOVERY_MODE=registry).
 */
import { randomBytes } from "node:crypto";
import { NotAvailable, ShowFailure, describeErrors, type Show } from "./lib.ts";
import { RegistryView, describeInstance, servedBy, startExtraInstance } from "./instances.ts";
import type { InstanceRecord } from "@ecom/discovery";

const SERVICE = "products";
const BURST = 30;

/** Sends `count` catalogue queries (3 at a time, each different so none is deduplicated); resolves with the failures. */
export async function burst(show: Show, count: number, headers: Record<string, string> = {}): Promise<string[]> {
  const failures: string[] = [];
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      const answer = await show.gql("query Count($n: Int) { products(first: $n) { totalCount } }", {
        variables: { n: 1 + (i % 20) },
        headers,
      });
      if (answer.errors || answer.status !== 200) failures.push(describeErrors(answer));
    }
  };
  await Promise.all([lane(), lane(), lane()]);
  return failures;
}

/** Runs a burst and prints how many calls each instance answered. */
async function measured(
  show: Show,
  instances: readonly InstanceRecord[],
  label: string,
): Promise<{ counts: Map<string, number>; failures: string[] }> {
  const before = await servedBy(show, instances);
  const failures = await burst(show, BURST);
  const after = await servedBy(show, instances);
  const counts = new Map(instances.map((i) => [i.id, (after.get(i.id) ?? 0) - (before.get(i.id) ?? 0)]));
  show.say(
    `${label}: ${BURST} requests -> ${instances.map((i) => `${describeInstance(i)} ${counts.get(i.id)}`).join(", ")}${failures.length ? `; ${failures.length} failed` : ", none failed"}`,
  );
  return { counts, failures };
}

export async function showDiscovery(show: Show): Promise<void> {
  const registry = await RegistryView.open(show);
  show.step(`the registry's ${SERVICE} instances (${show.env.controlPlanePrefix}discovery:* in Redis)`);
  const initial = await registry.instances(SERVICE);
  if (initial.length === 0) {
    throw new NotAvailable(
      `no ${SERVICE} instance in the service registry under "${show.env.controlPlanePrefix}": start the platform in registry mode (npm start -- --scale products=2, or DISCOVERY_MODE=registry npm start) with the same CONTROL_PLANE_PREFIX`,
    );
  }
  for (const i of initial) show.say(`${describeInstance(i)}  ${i.url}  id ${i.id}  since ${i.startedAt}`);
  await measured(show, initial, "before");

  show.step(`one more ${SERVICE} instance, started beside npm start`);
  const tag = randomBytes(4).toString("hex");
  const t0 = Date.now();
  const extra = await startExtraInstance(show, registry, { service: SERVICE, version: "stable", tag });
  show.say(
    `appeared in the registry after ${((Date.now() - t0) / 1000).toFixed(1)} s: ${describeInstance(extra.record)} ${extra.record.url}`,
  );
  const three = [...initial, extra.record];
  const t1 = Date.now();
  await show.waitFor("the gateway sending a call to the new instance", async () => {
    await burst(show, 3);
    return ((await servedBy(show, [extra.record])).get(extra.record.id) ?? 0) > 0;
  });
  show.say(`the gateway sent it its first call ${Date.now() - t1} ms later (registry announcement, no restart)`);
  const withExtra = await measured(show, three, "with it");
  if ((withExtra.counts.get(extra.record.id) ?? 0) === 0) throw new ShowFailure("the new instance got none of the traffic");
  if (withExtra.failures.length > 0) throw new ShowFailure(`requests failed while it joined: ${withExtra.failures[0]}`);

  show.step("stopped (SIGTERM): it deregisters first, then drains");
  const t2 = Date.now();
  const stopping = extra.stop();
  await show.waitFor(
    "the instance leaving the registry",
    async () => !(await registry.instances(SERVICE)).some((i) => i.id === extra.record.id),
  );
  show.say(`gone from the registry after ${Date.now() - t2} ms`);
  await stopping;
  show.say(`process exited after ${Date.now() - t2} ms`);
  const after = await measured(show, initial, "after");
  if (after.failures.length > 0) throw new ShowFailure(`requests failed after the instance left: ${after.failures[0]}`);
  const total = [...after.counts.values()].reduce((a, b) => a + b, 0);
  if (total < BURST) throw new ShowFailure(`the remaining instances answered ${total} of ${BURST} calls`);
}
