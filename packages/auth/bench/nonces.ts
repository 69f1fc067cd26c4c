/**
 * Micro-benchmark of the signer's nonce: `randomBytes(16)` per call (before) against slices of a pooled
 * `randomFillSync` buffer (createNonceSource, now), and a whole `sign()` call for scale. Interleaved rounds,
 * medians of ns per call; prints a table and the load average. Not a test: nothing is asserted.
 *
 *   npx tsx packages/auth/bench/nonces.ts [--rounds 9] [--calls 200000]
 */
import { randomBytes } from "node:crypto";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
// The shared micro-benchmark loop (interleaved rounds, medians) lives with @ecom/observability's benchmark.
import { interleavedRounds, loadLine, median } from "../../../scripts/bench/micro.ts";
import { createNonceSource, createRequestSigner, devMasterKeyring, pairKeyringFromMaster } from "../src/index.ts";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "9" }, calls: { type: "string", default: "200000" } } });
const rounds = Number(values.rounds);
const calls = Number(values.calls);

const pooled = createNonceSource();
const sign = createRequestSigner({
  caller: "gateway",
  target: "orders",
  keys: pairKeyringFromMaster(devMasterKeyring(), "gateway", "orders"),
});
const body = JSON.stringify({
  query: "query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { id price } } }",
  variables: { r: [{ __typename: "Product", id: "p-1" }] },
});
const request = { method: "POST", path: "/graphql", body, headers: { "x-user-id": "u-1", "x-user-role": "CUSTOMER" } };

let sink = 0; // keeps the results alive so the work is not optimised away
const cases: Record<string, () => void> = {
  "nonce: randomBytes(16) (before)": () => void (sink += randomBytes(16).toString("base64url").length),
  "nonce: pooled randomFillSync (now)": () => void (sink += pooled().length),
  "sign() whole call (now)": () => void (sink += sign(request)["x-ecom-nonce"]!.length),
};

const load = loadavg()[0]!;
const samples = interleavedRounds(cases, { rounds, calls, warmup: 10_000 });
const before = median(samples.get("nonce: randomBytes(16) (before)")!);
console.log(`${rounds} interleaved rounds of ${calls} calls, ${loadLine(load)}\n`);
console.log("| case | ns per call (median) | min-max | vs randomBytes(16) |");
console.log("| --- | ---: | ---: | ---: |");
for (const [name, xs] of samples) {
  const m = median(xs);
  console.log(`| ${name} | ${m.toFixed(0)} | ${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)} | ${(m / before).toFixed(2)} |`);
}
if (sink < 0) console.log(sink);
