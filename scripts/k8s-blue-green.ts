/**
 * `npm run k8s:blue-green -- <status|switch|rollback> [--to blue|green] [--namespace ecom] [--context C]`
 *
 * Blue-green for the gateway (k8s/overlays/blue-green): the Service `gateway` selects the live colour, the
 * Service `gateway-preview` the other one.
 *
 * - `status`: the live colour and the readiness of both Deployments.
 * - `switch`: checks that the idle colour's Deployment is fully rolled out and ready (every replica updated,
 *   ready and available), then points `gateway` at it and `gateway-preview` at the colour that was live, which
 *   stays up for a rollback. Refuses (exit 1, nothing changed) when the idle colour is not ready.
 * - `rollback`: the same switch back to the previous colour (recorded on the Service), with the same check.
 *
 * Deploy a new version by updating the idle colour's image (`kubectl set image deployment/gateway-green ...`),
 * check it through `gateway-preview`, then `switch`.
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { kubectlCluster, notReadyReason, type Cluster } from "./k8s-cluster.ts";

export const COLORS = ["blue", "green"] as const;
export type Color = (typeof COLORS)[number];
const LIVE = "ecom.io/live-color";
const PREVIOUS = "ecom.io/previous-color";
const COLOR_LABEL = "ecom.io/color";

const other = (color: Color): Color => (color === "blue" ? "green" : "blue");
const isColor = (value: unknown): value is Color => COLORS.includes(value as Color);

/** The live colour, from the Service's selector. */
export async function liveColor(cluster: Cluster): Promise<Color> {
  const service = await cluster.get("service", "gateway");
  const color = (service.spec?.["selector"] as Record<string, string> | undefined)?.[COLOR_LABEL];
  if (!isColor(color)) throw new Error(`Service gateway selects no colour (${COLOR_LABEL}); is the blue-green overlay applied?`);
  return color;
}

/** Status lines: which colour is live and how each colour's Deployment is. */
export async function status(cluster: Cluster): Promise<string[]> {
  const live = await liveColor(cluster);
  const lines = [`live: ${live}`];
  for (const color of COLORS) {
    const reason = notReadyReason(await cluster.get("deployment", `gateway-${color}`));
    lines.push(`gateway-${color}: ${reason ?? "ready"}${color === live ? " (live)" : " (idle)"}`);
  }
  return lines;
}

/** Switches the live colour to `to` (default: the idle one) once it is ready; returns what it did. */
export async function switchTo(cluster: Cluster, to?: Color): Promise<{ from: Color; to: Color }> {
  const from = await liveColor(cluster);
  const target = to ?? other(from);
  if (target === from) throw new Error(`${target} is already live: nothing to switch`);
  const reason = notReadyReason(await cluster.get("deployment", `gateway-${target}`));
  if (reason)
    throw new Error(`not switching to ${target}: ${reason}. Wait for the rollout (kubectl rollout status deployment/gateway-${target}).`);
  await cluster.patch("service", "gateway", {
    metadata: { annotations: { [LIVE]: target, [PREVIOUS]: from } },
    spec: { selector: { [COLOR_LABEL]: target } },
  });
  await cluster.patch("service", "gateway-preview", { spec: { selector: { [COLOR_LABEL]: from } } });
  return { from, to: target };
}

/** Switches back to the colour that was live before the last switch. */
export async function rollback(cluster: Cluster): Promise<{ from: Color; to: Color }> {
  const service = await cluster.get("service", "gateway");
  const previous = service.metadata.annotations?.[PREVIOUS];
  if (!isColor(previous)) throw new Error(`Service gateway records no previous colour (${PREVIOUS}): nothing to roll back to`);
  return switchTo(cluster, previous);
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { to: { type: "string" }, namespace: { type: "string" }, context: { type: "string" }, kubectl: { type: "string" } },
  });
  const cluster = kubectlCluster({
    ...(values.namespace ? { namespace: values.namespace } : {}),
    ...(values.context ? { context: values.context } : {}),
    ...(values.kubectl ? { kubectl: values.kubectl } : {}),
  });
  const command = positionals[0] ?? "status";
  if (values.to !== undefined && !isColor(values.to)) throw new Error(`--to must be blue or green (got ${values.to})`);
  switch (command) {
    case "status":
      process.stdout.write(`${(await status(cluster)).join("\n")}\n`);
      return 0;
    case "switch": {
      const { from, to } = await switchTo(cluster, values.to as Color | undefined);
      process.stdout.write(
        `switched gateway from ${from} to ${to}; ${from} stays up behind gateway-preview (rollback: npm run k8s:blue-green -- rollback)\n`,
      );
      return 0;
    }
    case "rollback": {
      const { from, to } = await rollback(cluster);
      process.stdout.write(`rolled gateway back from ${from} to ${to}\n`);
      return 0;
    }
    default:
      process.stderr.write(
        "usage: npm run k8s:blue-green -- <status|switch|rollback> [--to blue|green] [--namespace ecom] [--context C]\n",
      );
      return 2;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
