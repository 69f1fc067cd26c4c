/**
 * `npm run keys`: makes a new master signing key and prints what each process gets (packages/auth signing.ts):
 *
 *   gateway            SIGNING_KEYS           the master keys (it derives the key of every call it makes)
 *   each subgraph      SIGNING_KEYS           its own service keys (verifies calls to itself, forges none to others)
 *   orders             PRODUCTS_SIGNING_KEYS  K(orders -> products), for its price lookups
 *
 *   npm run keys                                   a new master key, every derived value, and the rotation steps
 *   npm run keys -- --env                          the same as `export` lines for docker compose (SIGNING_KEYS_<NAME>)
 *   npm run keys -- --master "k1:...,k0:..."       derive from existing master keys (e.g. during a rotation)
 *   npm run keys -- --add --master "k0:..."        a new key first, the existing ones kept after it (step 1 of a rotation)
 */
import { parseArgs } from "node:util";
import { formatKeyring, generateMasterKey, pairKeyringFromMaster, parseKeyring, serviceKeyring, type Keyring } from "@ecom/auth";
import { SUBGRAPH_NAMES } from "@ecom/config";

/** Every signing variable of the platform for `master`: `{ process, variable, composeVariable, value }`. */
export function signingVariables(master: Keyring): Array<{ process: string; variable: string; composeVariable: string; value: string }> {
  return [
    { process: "gateway", variable: "SIGNING_KEYS", composeVariable: "SIGNING_KEYS_GATEWAY", value: formatKeyring(master) },
    ...SUBGRAPH_NAMES.map((name) => ({
      process: name,
      variable: "SIGNING_KEYS",
      composeVariable: `SIGNING_KEYS_${name.toUpperCase()}`,
      value: formatKeyring(serviceKeyring(master, name)),
    })),
    {
      process: "orders",
      variable: "PRODUCTS_SIGNING_KEYS",
      composeVariable: "PRODUCTS_SIGNING_KEYS",
      value: formatKeyring(pairKeyringFromMaster(master, "orders", "products")),
    },
  ];
}

function fail(message: string): never {
  process.stderr.write(`npm run keys: ${message}\n`);
  process.exit(1);
}

function main(): void {
  const { values } = parseArgs({
    options: {
      env: { type: "boolean", default: false },
      master: { type: "string" },
      add: { type: "boolean", default: false },
      kid: { type: "string" },
    },
  });
  let master: Keyring;
  try {
    const existing = values.master ? parseKeyring(values.master) : [];
    const fresh = !values.master || values.add ? [generateMasterKey(values.kid)] : [];
    if (fresh[0] && existing.some((k) => k.kid === fresh[0]!.kid)) fail(`key id ${fresh[0].kid} is already in use: pass --kid <another>`);
    master = [...fresh, ...existing];
  } catch (error) {
    fail((error as Error).message);
  }
  const variables = signingVariables(master);
  if (values.env) {
    for (const v of variables) process.stdout.write(`export ${v.composeVariable}='${v.value}'\n`);
    return;
  }
  const out = (line = "") => process.stdout.write(`${line}\n`);
  out(`Master keys (${master.map((k) => k.kid).join(", ")}; the first signs). Keep them secret: they are the root of every other value.`);
  out();
  for (const v of variables) out(`${v.process.padEnd(14)} ${v.variable}=${v.value}`);
  out();
  out("Kubernetes: each value goes into the Secret of its process (k8s/secrets/ecom-<name>.yaml, key as shown).");
  out("docker compose: eval \"$(npm run -s keys -- --env --master '<master keys>')\" exports SIGNING_KEYS_<NAME>.");
  out();
  out("Rotation, without refusing a single call:");
  out("  1. npm run keys -- --add --master '<current master>'   (a new key first, the current one second)");
  out("  2. deploy every subgraph with its new SIGNING_KEYS (verifiers first: they now accept both keys)");
  out("  3. then the callers: the gateway with the new master, orders with the new PRODUCTS_SIGNING_KEYS;");
  out("     they sign with the new key (the first)");
  out("  4. once no call signed with the old key can be in flight (SIGNING_WINDOW, 30 s), drop the old key:");
  out("     npm run keys -- --master '<new key only>', and deploy everything again");
}

if (import.meta.url === `file://${process.argv[1]}`) main();
