/**
 * One list of deployables and ports (packages/config's port table, read by scripts/topology.ts): the gateway's
 * defaults, the supergraph, a subgraph's defaults, docker-compose.yml and the Kubernetes manifests all agree
 * with it, so adding or moving a deployable is one change.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { GATEWAY_PORT, SUBGRAPHS, parseEnv } from "@ecom/config";
import { envSchema as gatewayEnvSchema } from "../../gateway/src/env.ts";
import { subgraphsOf } from "../../gateway/src/supergraph.ts";
import { envSchema as ordersEnvSchema } from "../../subgraphs/orders/src/env.ts";
import { deployTargets, ROOT, type DeployTarget } from "../../scripts/deploy-spec.ts";
import { parseObjects, type K8sObject } from "../../scripts/k8s-check.ts";
import { deployables } from "../../scripts/topology.ts";
import { parseCompose, readRepoFile, type ComposeFile } from "./deploy-checks.ts";

const portOf = (url: string) => Number(new URL(url).port);

/** Where a deployable's port appears in the generated manifests and compose, against the list. */
function disagreements(targets: DeployTarget[], manifests: (name: string) => K8sObject[], compose: ComposeFile): string[] {
  const problems: string[] = [];
  const gatewayConfig = manifests("gateway").find((o) => o.kind === "ConfigMap")?.["data"] as Record<string, string>;
  for (const t of targets) {
    const objects = manifests(t.name);
    const deployment = objects.find((o) => o.kind === "Deployment") as
      { spec: { template: { spec: { containers: Array<{ ports: Array<{ containerPort: number }> }> } } } } | undefined;
    const service = objects.find((o) => o.kind === "Service") as { spec: { ports: Array<{ port: number }> } } | undefined;
    const config = objects.find((o) => o.kind === "ConfigMap")?.["data"] as Record<string, string> | undefined;
    if (deployment?.spec.template.spec.containers[0]?.ports[0]?.containerPort !== t.port) problems.push(`k8s ${t.name}: containerPort`);
    if (service?.spec.ports[0]?.port !== t.port) problems.push(`k8s ${t.name}: Service port`);
    if (config?.["PORT"] !== String(t.port)) problems.push(`k8s ${t.name}: PORT`);
    const env = compose.services[t.name]?.environment as Record<string, string> | undefined;
    if (env?.["PORT"] !== String(t.port)) problems.push(`compose ${t.name}: PORT`);
    if (t.kind === "subgraph") {
      const variable = `SUBGRAPH_${t.name.toUpperCase()}_URL`;
      if (gatewayConfig?.[variable] !== `http://${t.name}:${t.port}/graphql`) problems.push(`k8s gateway: ${variable}`);
    }
  }
  return problems;
}

describe("the list of deployables", () => {
  const targets = deployTargets();
  const manifests = (name: string) => parseObjects(readFileSync(path.join(ROOT, "k8s/base", `${name}.yaml`), "utf8"));
  const compose = parseCompose(readRepoFile("docker-compose.yml"));

  it("is the port table of packages/config: every subgraph at its port, then the gateway", () => {
    expect(Object.fromEntries(targets.map((t) => [t.name, t.port]))).toEqual({ ...SUBGRAPHS, gateway: GATEWAY_PORT });
    expect(targets.map((t) => t.name)).toEqual(deployables(ROOT).map((d) => d.name));
  });

  it("agrees with the gateway's defaults, the supergraph it serves and a subgraph's default callee URL", () => {
    const defaults = parseEnv("gateway", gatewayEnvSchema, {});
    expect(defaults.PORT).toBe(GATEWAY_PORT);
    expect(portOf(defaults.JWKS_URL)).toBe(SUBGRAPHS.users);
    const supergraph = subgraphsOf(readRepoFile("gateway/supergraph.graphql"));
    expect(Object.fromEntries(supergraph.map((s) => [s.name, portOf(s.url)]))).toEqual(SUBGRAPHS);
    expect(portOf(parseEnv("orders", ordersEnvSchema, {}).PRODUCTS_URL)).toBe(SUBGRAPHS.products);
  });

  it("agrees with the Kubernetes manifests and docker-compose.yml", () => {
    expect(disagreements(targets, manifests, compose)).toEqual([]);
  });

  it("notices a manifest or a compose service on another port", () => {
    const moved = targets.map((t) => (t.name === "payments" ? { ...t, port: 4105 } : t));
    expect(disagreements(moved, manifests, compose)).toEqual([
      "k8s payments: containerPort",
      "k8s payments: Service port",
      "k8s payments: PORT",
      "compose payments: PORT",
      "k8s gateway: SUBGRAPH_PAYMENTS_URL",
    ]);
  });
});
