/**
 * k8s/: `npm run k8s:check` renders every overlay offline and validates every object (schema, unknown fields,
 * policy); the generated part is up to date with the list of deployables; the policy and the NetworkPolicies say
 * what the platform promises. Broken copies show each check can fail.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import express, { type Request } from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "@ecom/config";
import { applyHttpHygiene, httpHygieneEnv } from "../../gateway/src/http-hygiene.ts";
import { deployTargets, GATEWAY_TRUST_PROXY, OTLP_COLLECTOR } from "../../scripts/deploy-spec.ts";
import { checkK8s, policyProblems, readSecretTemplates, ROOT, type CheckResult, type K8sObject } from "../../scripts/k8s-check.ts";
import { generatedFiles, staleFiles } from "../../scripts/k8s-generate.ts";
import { GATEWAY_NODE_OPTIONS } from "../../scripts/topology.ts";
import { LABELS, PROMETHEUS } from "../../scripts/k8s-manifests.ts";
import { allowed, policiesOf, type Pod } from "./network-policy.ts";

const run = promisify(execFile);
const K8S = path.join(ROOT, "k8s");
const secretTemplates = readSecretTemplates(K8S).keys;

/** `npm run k8s:check` itself, as CI and a developer run it. */
async function k8sCheck(dir?: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run("npm", ["run", "--silent", "k8s:check", "--", ...(dir ? ["--dir", dir] : [])], { cwd: ROOT });
    return { code: 0, out: stdout };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : 1, out: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

let result: CheckResult;
beforeAll(async () => {
  result = await checkK8s(K8S);
}, 120_000);

const rendered = (name: string): K8sObject[] => structuredClone(result.rendered[name] ?? []);
const find = (objects: K8sObject[], kind: string, name: string) => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind}/${name} not rendered`);
  return o as K8sObject & { spec: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests poke at nested fields
};
const problemsOf = (objects: K8sObject[]) => policyProblems(objects, { secretTemplates });

describe("npm run k8s:check", () => {
  it("renders base and every overlay (dev, prod, blue-green, canary) and finds no problem", async () => {
    expect(Object.keys(result.rendered).sort()).toEqual([
      "base",
      "overlays/blue-green",
      "overlays/canary",
      "overlays/dev",
      "overlays/prod",
    ]);
    expect(result.problems).toEqual(Object.fromEntries(Object.keys(result.problems).map((k) => [k, []])));
    const { code, out } = await k8sCheck();
    expect(out).toContain("k8s:check passed");
    expect(code).toBe(0);
  }, 120_000);

  describe("a deliberately broken copy", () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), "k8s-broken-"));
    afterAll(() => rmSync(tmp, { recursive: true, force: true }));

    it("fails on an unknown field, a wrong type, canary weights that do not sum to 100 and an overlay that does not render", async () => {
      cpSync(K8S, tmp, { recursive: true });
      const edit = (file: string, from: RegExp | string, to: string) => {
        const abs = path.join(tmp, file);
        const before = readFileSync(abs, "utf8");
        const after = before.replace(from, to);
        expect(after, `${file}: nothing replaced`).not.toBe(before);
        writeFileSync(abs, after);
      };
      edit("base/users.yaml", "periodSeconds: 10", "initialDelaySecnds: 10");
      edit("base/orders.yaml", "replicas: 2", 'replicas: "two"');
      edit("overlays/canary/istio.yaml", /weight: 10$/m, "weight: 20");
      edit("overlays/dev/kustomization.yaml", "../../base", "../../missing-base");

      const { code, out } = await k8sCheck(tmp);
      expect(code).toBe(1);
      expect(out).toMatch(/base: Deployment\/users: .*'initialDelaySecnds' does not exist in type 'IProbe'/);
      expect(out).toContain("overlays/prod: Deployment/orders: /spec/replicas must be integer");
      expect(out).toContain("overlays/canary: VirtualService/gateway http[weighted]: weights sum to 110, not 100");
      expect(out).toMatch(/overlays\/dev: kustomize build .* failed/);
    }, 120_000);
  });
});

describe("the generated manifests", () => {
  it("are up to date with scripts/deploy-spec.ts (npm run k8s:generate)", async () => {
    expect(staleFiles(await generatedFiles())).toEqual([]);
  });

  it("notice a hand edit and a leftover file", async () => {
    const files = await generatedFiles();
    const tmp = mkdtempSync(path.join(os.tmpdir(), "k8s-drift-"));
    try {
      for (const [file, content] of files) {
        const abs = path.join(tmp, file);
        cpSync(path.join(ROOT, file), abs);
        writeFileSync(abs, content);
      }
      writeFileSync(path.join(tmp, "k8s/base/users.yaml"), files.get("k8s/base/users.yaml")!.replace("replicas: 2", "replicas: 5"));
      writeFileSync(path.join(tmp, "k8s/base/retired.yaml"), "# a deployable that was removed\n");
      expect(staleFiles(files, tmp).sort()).toEqual(["k8s/base/retired.yaml", "k8s/base/users.yaml"]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("have one Deployment, Service, ServiceAccount, ConfigMap, PDB and HPA per deployable, and a migration Job per database", () => {
    const objects = rendered("base");
    for (const t of deployTargets()) {
      for (const kind of ["Deployment", "Service", "ServiceAccount", "PodDisruptionBudget", "HorizontalPodAutoscaler"])
        find(objects, kind, t.name);
      find(objects, "ConfigMap", `ecom-${t.name}`);
      if (t.kind === "subgraph") expect(find(objects, "Job", `${t.service}-migrate`).metadata.labels?.[LABELS.component]).toBe("migration");
    }
  });
});

describe("the policy over the rendered objects", () => {
  for (const overlay of ["overlays/prod", "overlays/dev", "overlays/blue-green", "overlays/canary"]) {
    it(`holds for ${overlay}`, () => {
      const objects = rendered(overlay);
      expect(objects.filter((o) => o.kind === "Deployment").length).toBeGreaterThanOrEqual(deployTargets().length);
      expect(problemsOf(objects)).toEqual([]);
    });
  }

  it("rejects a container without probes, limits, non-root, read-only root or dropped capabilities", () => {
    const objects = rendered("overlays/prod");
    const container = find(objects, "Deployment", "users").spec.template.spec.containers[0];
    delete container.readinessProbe;
    delete container.resources.limits;
    container.securityContext.runAsNonRoot = false;
    delete find(objects, "Deployment", "users").spec.template.spec.securityContext.runAsNonRoot;
    container.securityContext.readOnlyRootFilesystem = false;
    container.securityContext.capabilities = { drop: ["NET_RAW"] };
    container.image = "ghcr.io/your-org/ecom-users:latest";
    expect(problemsOf(objects)).toEqual(
      expect.arrayContaining([
        "Deployment/users container users: no readinessProbe",
        "Deployment/users container users: no cpu and memory limits",
        "Deployment/users container users: may run as root (runAsNonRoot: true)",
        "Deployment/users container users: root filesystem is writable (readOnlyRootFilesystem: true)",
        "Deployment/users container users: capabilities not dropped (drop: [ALL])",
        "Deployment/users container users: image ghcr.io/your-org/ecom-users:latest has no pinned tag",
      ]),
    );
  });

  it("rejects a Deployment without a PDB or an HPA, and a grace period shorter than the drain", () => {
    const objects = rendered("overlays/prod").filter(
      (o) => !((o.kind === "PodDisruptionBudget" || o.kind === "HorizontalPodAutoscaler") && o.metadata.name === "orders"),
    );
    find(objects, "Deployment", "gateway").spec.template.spec.terminationGracePeriodSeconds = 10;
    const problems = problemsOf(objects);
    expect(problems).toContain("Deployment/orders: no PodDisruptionBudget");
    expect(problems).toContain("Deployment/orders: no HorizontalPodAutoscaler");
    expect(problems).toContainEqual(expect.stringMatching(/^Deployment\/gateway: terminationGracePeriodSeconds 10s does not outlast/));
  });

  it("rejects a process not in production mode, and a Secret key without a template", () => {
    const objects = rendered("overlays/prod");
    find(objects, "ConfigMap", "ecom-payments")["data"] = {
      ...(find(objects, "ConfigMap", "ecom-payments")["data"] as object),
      NODE_ENV: "development",
    };
    find(objects, "Deployment", "search").spec.template.spec.containers[0].env.push({
      name: "API_KEY",
      valueFrom: { secretKeyRef: { name: "ecom-search", key: "API_KEY" } },
    });
    const problems = problemsOf(objects);
    expect(problems).toContain("Deployment/payments: NODE_ENV is not production");
    expect(problems).toContain("Deployment/search: Secret ecom-search key API_KEY has no template in k8s/secrets");
  });

  it("rejects a gateway without TRUST_PROXY, with it off, or trusting every proxy", () => {
    const canary = rendered("overlays/canary");
    const config = find(canary, "ConfigMap", "ecom-gateway")["data"] as Record<string, string>;
    delete config["TRUST_PROXY"];
    const unset = (owner: string) =>
      `${owner}: TRUST_PROXY is unset: behind the ingress every client would share the ingress pod's address`;
    // Both tracks read the one ConfigMap: both are named.
    expect(problemsOf(canary)).toEqual(expect.arrayContaining([unset("Deployment/gateway"), unset("Deployment/gateway-canary")]));

    const prod = rendered("overlays/prod");
    (find(prod, "ConfigMap", "ecom-gateway")["data"] as Record<string, string>)["TRUST_PROXY"] = "true";
    expect(problemsOf(prod)).toContain("Deployment/gateway: TRUST_PROXY is true: any client could choose its address with X-Forwarded-For");

    // A literal env entry of the container overrides the ConfigMap (as Kubernetes applies them).
    const blueGreen = rendered("overlays/blue-green");
    find(blueGreen, "Deployment", "gateway-green").spec.template.spec.containers[0].env.push({ name: "TRUST_PROXY", value: "false" });
    const problems = problemsOf(blueGreen);
    expect(problems).toContainEqual(expect.stringMatching(/^Deployment\/gateway-green: TRUST_PROXY is false: /));
    expect(problems.filter((p) => p.includes("TRUST_PROXY"))).toHaveLength(1);
  });

  it("rejects canary weights that do not sum to 100 and a subset that selects no pods", () => {
    const objects = rendered("overlays/canary");
    const http = find(objects, "VirtualService", "gateway").spec.http;
    const weighted = http.find((h: { name?: string }) => h.name === "weighted");
    expect(weighted.route.map((r: { weight: number }) => r.weight)).toEqual([90, 10]);
    weighted.route[1].weight = 5;
    find(objects, "DestinationRule", "gateway").spec.subsets[1].labels = { [LABELS.track]: "nightly" };
    const problems = problemsOf(objects);
    expect(problems).toContain("VirtualService/gateway http[weighted]: weights sum to 95, not 100");
    expect(problems).toContain("DestinationRule/gateway: subset canary selects no pods");
  });

  it("sends x-canary: always to the canary in the canary overlay", () => {
    const http = find(rendered("overlays/canary"), "VirtualService", "gateway").spec.http;
    expect(http[0]).toMatchObject({
      match: [{ headers: { "x-canary": { exact: "always" } } }],
      route: [{ destination: { subset: "canary" } }],
    });
  });

  it("rejects pods left outside the NetworkPolicies", () => {
    const objects = rendered("overlays/prod").filter(
      (o) => !(o.kind === "NetworkPolicy" && ["default-deny", "users"].includes(o.metadata.name)),
    );
    const problems = problemsOf(objects);
    expect(problems).toContain("Deployment/users: no NetworkPolicy restricts its ingress");
    expect(problems).toContain("Job/products-migrate: no NetworkPolicy restricts its ingress");
    expect(problems).toContain("Deployment/users: no NetworkPolicy admits traffic to port 4001");
  });

  it("never renders a Secret (values are created outside kustomize)", () => {
    for (const objects of Object.values(result.rendered)) expect(objects.filter((o) => o.kind === "Secret")).toEqual([]);
    const objects = rendered("overlays/prod");
    objects.push({ apiVersion: "v1", kind: "Secret", metadata: { name: "oops", namespace: "ecom" }, stringData: { SIGNING_KEYS: "x" } });
    expect(problemsOf(objects)).toContain("Secrets are rendered: real values never go through kustomize (k8s/secrets)");
  });
});

describe("the NetworkPolicies", () => {
  const pods = () => {
    const objects = rendered("overlays/prod");
    const policies = policiesOf(objects);
    const pod = (name: string): Pod => ({ labels: find(objects, "Deployment", name).spec.template.metadata.labels, namespace: "ecom" });
    const job = (name: string): Pod => ({ labels: find(objects, "Job", name).spec.template.metadata.labels, namespace: "ecom" });
    return { policies, pod, job };
  };
  const database = (service: string): Pod => ({ labels: { [LABELS.database]: service }, namespace: "ecom" });
  const redis: Pod = { labels: { [LABELS.name]: "redis" }, namespace: "ecom" };
  const prometheus: Pod = { labels: PROMETHEUS.podLabels, namespace: PROMETHEUS.namespace };
  const stranger: Pod = { labels: { app: "something-else" }, namespace: "other-team" };
  const targets = deployTargets();
  const subgraphs = targets.filter((t) => t.kind === "subgraph");

  it("let only the gateway (and declared callers) reach a subgraph", () => {
    const { policies, pod } = pods();
    for (const s of subgraphs) {
      expect(allowed(policies, pod("gateway"), pod(s.name), s.port), `gateway -> ${s.name}`).toBe(true);
      expect(allowed(policies, prometheus, pod(s.name), s.port), `prometheus -> ${s.name}`).toBe(true);
      expect(allowed(policies, stranger, pod(s.name), s.port), `other namespace -> ${s.name}`).toBe(false);
      for (const other of subgraphs) {
        if (other.name === s.name) continue;
        const declared = Object.hasOwn(other.calls, s.name);
        expect(allowed(policies, pod(other.name), pod(s.name), s.port), `${other.name} -> ${s.name}`).toBe(declared);
      }
    }
    expect(allowed(policies, pod("orders"), pod("products"), 4002)).toBe(true);
    expect(allowed(policies, pod("users"), pod("orders"), 4004)).toBe(false);
  });

  it("let only a service (its subgraph and migration job) reach its own database", () => {
    const { policies, pod, job } = pods();
    for (const s of subgraphs) {
      expect(allowed(policies, pod(s.name), database(s.service), 5432), `${s.name} -> own database`).toBe(true);
      expect(allowed(policies, job(`${s.service}-migrate`), database(s.service), 5432), `${s.service}-migrate -> own database`).toBe(true);
      for (const other of subgraphs) {
        if (other.service !== s.service)
          expect(allowed(policies, pod(other.name), database(s.service), 5432), `${other.name} -> ${s.service} database`).toBe(false);
      }
      expect(allowed(policies, pod("gateway"), database(s.service), 5432)).toBe(false);
    }
  });

  it("let Redis clients (gateway, workers) reach Redis and nobody else", () => {
    const { policies, pod } = pods();
    for (const t of targets) expect(allowed(policies, pod(t.name), redis, 6379), `${t.name} -> redis`).toBe(t.redis);
    expect(targets.filter((t) => t.redis).map((t) => t.name)).toContain("gateway");
  });

  it("let clients from anywhere reach the gateway, and only on its port", () => {
    const { policies, pod } = pods();
    expect(allowed(policies, stranger, pod("gateway"), 4000)).toBe(true);
    expect(allowed(policies, stranger, pod("gateway"), 22)).toBe(false);
  });

  it("let every pod send traces to the OTLP collector, and only on its port", () => {
    const { policies, pod, job } = pods();
    const collector: Pod = { labels: OTLP_COLLECTOR.podLabels, namespace: OTLP_COLLECTOR.namespace };
    for (const t of targets) {
      expect(allowed(policies, pod(t.name), collector, OTLP_COLLECTOR.port), `${t.name} -> collector`).toBe(true);
      expect(allowed(policies, pod(t.name), collector, 4317), `${t.name} -> collector, another port`).toBe(false);
      expect(allowed(policies, pod(t.name), { ...collector, namespace: "other-team" }, OTLP_COLLECTOR.port)).toBe(false);
    }
    expect(allowed(policies, job("orders-migrate"), collector, OTLP_COLLECTOR.port)).toBe(true);
  });
});

describe("the processes' configuration", () => {
  const MiB = (quantity: string) => Number.parseInt(quantity, 10) * (quantity.endsWith("Gi") ? 1024 : 1);
  for (const overlay of ["base", "overlays/prod", "overlays/dev"]) {
    it(`exports traces and keeps V8's heap under the memory limit in ${overlay}`, () => {
      const objects = rendered(overlay);
      for (const t of deployTargets()) {
        const env = find(objects, "ConfigMap", `ecom-${t.name}`)["data"] as Record<string, string>;
        expect(env["OTEL_EXPORTER_OTLP_ENDPOINT"], t.name).toBe(OTLP_COLLECTOR.url);
        expect(env["OTEL_SERVICE_NAME"], t.name).toBe(t.name);
        const options = env["NODE_OPTIONS"]!;
        // The ConfigMap replaces the image's NODE_OPTIONS: the gateway's measured young generation must be in it.
        if (t.kind === "gateway") expect(options, t.name).toContain(GATEWAY_NODE_OPTIONS);
        const old = Number(/--max-old-space-size=(\d+)/.exec(options)?.[1]);
        const semi = Number(/--max-semi-space-size=(\d+)/.exec(options)?.[1] ?? 16);
        const limit = MiB(find(objects, "Deployment", t.name).spec.template.spec.containers[0].resources.limits.memory);
        // The old generation takes three quarters of the limit, less what the young one (three semi-spaces) takes
        // beyond V8's default (16 MiB each): a larger young generation never raises the heap's share.
        expect(old + 3 * (semi - 16), `${t.name}: old ${old} MiB, semi-spaces ${semi} MiB, limit ${limit} MiB`).toBeLessThanOrEqual(
          limit * 0.75,
        );
      }
    });
  }
});

describe("the gateway's TRUST_PROXY in Kubernetes", () => {
  // Parsed by the gateway's own validator and applied by its own setup (applyHttpHygiene), as at boot.
  const trustProxy = z.object({ TRUST_PROXY: httpHygieneEnv.TRUST_PROXY }).parse({ TRUST_PROXY: GATEWAY_TRUST_PROXY }).TRUST_PROXY;
  const gatewayApp = express();
  applyHttpHygiene(gatewayApp, { development: false, trustProxy });
  /**
   * `req.ip` of express's own request of `app` for a connection from `peer` carrying `forwardedFor`. A request
   * object, not a socket: a test over loopback can only connect from 127.0.0.1, and the addresses at stake are the
   * pod network's.
   */
  const clientAddress = (peer: string, forwardedFor?: string, app = gatewayApp): string | undefined => {
    const req = Object.create(app.request) as Request;
    Object.defineProperty(req, "headers", { value: forwardedFor === undefined ? {} : { "x-forwarded-for": forwardedFor } });
    Object.defineProperty(req, "socket", { value: { remoteAddress: peer } });
    return req.ip;
  };
  const podLabels = (o: K8sObject): Record<string, string> => find([o], o.kind, o.metadata.name).spec.template.metadata.labels ?? {};

  it("is set in every overlay's gateway Deployments from the one value of deploy-spec.ts", () => {
    expect(trustProxy).toBe("loopback, uniquelocal");
    for (const overlay of Object.keys(result.rendered)) {
      const objects = rendered(overlay);
      const gateways = objects.filter((o) => o.kind === "Deployment" && podLabels(o)[LABELS.component] === "gateway");
      expect(gateways.length, overlay).toBeGreaterThan(0);
      for (const d of gateways) {
        const refs = (find(objects, "Deployment", d.metadata.name).spec.template.spec.containers[0].envFrom ?? []) as Array<{
          configMapRef?: { name: string };
        }>;
        const values = refs.flatMap((r) =>
          r.configMapRef ? [(find(objects, "ConfigMap", r.configMapRef.name)["data"] as Record<string, string>)["TRUST_PROXY"]] : [],
        );
        expect(values, `${overlay} ${d.metadata.name}`).toContain(GATEWAY_TRUST_PROXY);
      }
    }
  });

  it("takes the address the ingress appended, never one a client wrote, also through the canary's Istio sidecar", () => {
    const ingressPod = "10.244.1.7";
    // The ingress controller appends the client's address to whatever the client sent.
    expect(clientAddress(ingressPod, "203.0.113.9")).toBe("203.0.113.9");
    expect(clientAddress(ingressPod, "6.6.6.6, 203.0.113.9")).toBe("203.0.113.9");
    // A client claiming a private (trusted) address gets nowhere: the ingress's entry is the rightmost untrusted one.
    expect(clientAddress(ingressPod, "10.0.0.1, 203.0.113.9")).toBe("203.0.113.9");
    // The canary's sidecar connects from 127.0.0.6 (with or without the ingress hop's own address appended).
    expect(clientAddress("127.0.0.6", "6.6.6.6, 203.0.113.9")).toBe("203.0.113.9");
    expect(clientAddress("127.0.0.6", `6.6.6.6, 203.0.113.9, ${ingressPod}`)).toBe("203.0.113.9");
    // IPv6 pod networks (fd00::/8 is unique-local).
    expect(clientAddress("fd00:10:244::7", "2001:db8::1")).toBe("2001:db8::1");
    // A peer outside the trusted ranges is the client, whatever it sends.
    expect(clientAddress("198.51.100.4", "1.2.3.4")).toBe("198.51.100.4");
    expect(clientAddress(ingressPod)).toBe(ingressPod);
  });

  it("trusts any pod of the private ranges that calls the gateway directly (the limit deploy-spec.ts documents)", () => {
    // Why an operator narrows TRUST_PROXY to the ingress controller's CIDR when other workloads share the cluster.
    expect(clientAddress("10.244.3.3", "1.2.3.4")).toBe("1.2.3.4");
    const narrowed = express().set("trust proxy", "loopback, 10.244.1.0/24");
    expect(clientAddress("10.244.3.3", "1.2.3.4", narrowed)).toBe("10.244.3.3");
    expect(clientAddress("10.244.1.7", "1.2.3.4", narrowed)).toBe("1.2.3.4");
  });
});
