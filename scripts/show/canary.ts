/**
 * `npm run show -- canary`: a canary route `canary.products = { version: "v2", weight: 10 }` in the live
 * configuration, one `v2` instance of products started beside `npm start`, and 200 anonymous requests split
 * about 90/10 between the stable instances and the canary, counted by the gateway
 * (`gateway_subgraph_instance_requests_total{version,side}`); `x-canary: always` / `never` pin a request.
 * The route is put back as it was and the instance stopped at the end. Needs registry mode.
 */
import { randomBytes } from "node:crypto";
import { NotAvailable, ShowFailure, type Show } from "./lib.ts";
import { burst } from "./discovery.ts";
import { RegistryView, describeInstance, startExtraInstance } from "./instances.ts";
import { LiveConfig } from "./live-config.ts";

const SERVICE = "products";
const VERSION = "v2";
const REQUESTS = 200;
const METRIC = "gateway_subgraph_instance_requests_total";

export async function showCanary(show: Show): Promise<void> {
  const registry = await RegistryView.open(show);
  const stable = await registry.instances(SERVICE);
  if (stable.length === 0) {
    throw new NotAvailable(
      `no ${SERVICE} instance in the service registry under "${show.env.controlPlanePrefix}": start the platform in registry mode (npm start -- --scale products=2, or DISCOVERY_MODE=registry npm start) with the same CONTROL_PLANE_PREFIX`,
    );
  }
  const config = await LiveConfig.open(show);
  const key = `canary.${SERVICE}`;
  const previous = await config.own(key);
  const byVersion = async () => {
    const m = await show.metrics(show.env.gatewayOrigin);
    return {
      stable: m.value(METRIC, { subgraph: SERVICE, side: "stable" }),
      canary: m.value(METRIC, { subgraph: SERVICE, side: "canary", version: VERSION }),
    };
  };

  show.step(
    `a canary route for ${SERVICE}, then a ${VERSION} instance beside the ${stable.length} stable one(s) (${stable.map(describeInstance).join(", ")})`,
  );
  show.defer(() =>
    previous === undefined
      ? config.run("unset", key, "-m", "show canary: done")
      : config.run("set", key, JSON.stringify(previous), "-m", "show canary: put back"),
  );
  await config.run("set", key, JSON.stringify({ version: VERSION, weight: 10 }), "-m", "show canary: 10% to v2");
  const canary = await startExtraInstance(show, registry, { service: SERVICE, version: VERSION, tag: randomBytes(4).toString("hex") });
  show.say(`registered: ${describeInstance(canary.record)} ${canary.record.url}`);
  const t0 = Date.now();
  await show.waitFor(`the gateway routing a pinned request to ${VERSION}`, async () => {
    const before = (await byVersion()).canary;
    await burst(show, 1, { "x-canary": "always" });
    return (await byVersion()).canary > before;
  });
  show.say(`the gateway routes to it ${Date.now() - t0} ms later`);

  show.step(`${REQUESTS} anonymous requests (each draws at random; signed-in users are sticky by user id)`);
  const before = await byVersion();
  const failures = await burst(show, REQUESTS);
  const after = await byVersion();
  const toStable = after.stable - before.stable;
  const toCanary = after.canary - before.canary;
  const share = (100 * toCanary) / Math.max(1, toStable + toCanary);
  show.say(
    `stable ${toStable} (${(100 - share).toFixed(1)}%), ${VERSION} ${toCanary} (${share.toFixed(1)}%)${failures.length ? `; ${failures.length} failed` : ", none failed"}`,
  );
  if (failures.length > 0) throw new ShowFailure(`requests failed during the canary: ${failures[0]}`);
  if (toStable + toCanary < REQUESTS)
    throw new ShowFailure(`the gateway counted ${toStable + toCanary} products calls for ${REQUESTS} requests`);
  // 10% of 200 is 20 with a standard deviation of about 4: outside 3%-20% is a broken split, not bad luck.
  if (share < 3 || share > 20) throw new ShowFailure(`the canary took ${share.toFixed(1)}% of the calls, not about 10%`);

  show.step("pinned requests");
  for (const pin of ["always", "never"] as const) {
    const b = await byVersion();
    await burst(show, 10, { "x-canary": pin });
    const a = await byVersion();
    show.say(`x-canary: ${pin} -> stable ${a.stable - b.stable}, ${VERSION} ${a.canary - b.canary}`);
    if (pin === "always" && a.canary - b.canary !== 10) throw new ShowFailure("x-canary: always did not send every request to the canary");
    if (pin === "never" && a.canary - b.canary !== 0) throw new ShowFailure("x-canary: never sent a request to the canary");
  }
}
