/**
 * The blue-green and canary scripts, run as the operator runs them (`tsx scripts/k8s-*.ts ...`), against the
 * objects the overlays render. There is no cluster here: kubectl is a stand-in over a JSON file
 * (fixtures/fake-kubectl.mjs, which applies merge patches as kubectl does) and Prometheus a local HTTP server
 * answering its query API from the canary's current weight.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { render, ROOT, type K8sObject } from "../../scripts/k8s-check.ts";

const FAKE_KUBECTL = path.join(ROOT, "tests/deploy/fixtures/fake-kubectl.mjs");
const TSX_CLI = path.join(ROOT, "node_modules/tsx/dist/cli.mjs");
const tmp = mkdtempSync(path.join(os.tmpdir(), "rollout-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface State {
  objects: Record<string, K8sObject & { spec: Record<string, unknown>; status?: Record<string, unknown> }>;
  log: string[];
  patches: Array<{ key: string; patch: { spec?: { http?: Array<{ name?: string; route?: Array<{ weight?: number }> }> } } }>;
}

let blueGreen: K8sObject[];
let canary: K8sObject[];
beforeAll(async () => {
  [blueGreen, canary] = await Promise.all([
    render(path.join(ROOT, "k8s/overlays/blue-green")),
    render(path.join(ROOT, "k8s/overlays/canary")),
  ]);
}, 60_000);

/** A state file holding the rendered objects, each Deployment with a status (rolled out and ready unless told). */
function cluster(objects: K8sObject[], notReady: string[] = []): { file: string; read: () => State } {
  const file = path.join(tmp, `state-${Math.random().toString(36).slice(2)}.json`);
  const state: State = { objects: {}, log: [], patches: [] };
  for (const o of structuredClone(objects) as State["objects"][string][]) {
    if (o.kind === "Deployment") {
      const replicas = (o.spec["replicas"] as number | undefined) ?? 1;
      (o.metadata as { generation?: number }).generation = 2;
      const ready = notReady.includes(o.metadata.name) ? 0 : replicas;
      o.status = { observedGeneration: 2, replicas, updatedReplicas: replicas, readyReplicas: ready, availableReplicas: ready };
    }
    state.objects[`${o.kind.toLowerCase()}/${o.metadata.namespace}/${o.metadata.name}`] = o;
  }
  writeFileSync(file, JSON.stringify(state));
  return { file, read: () => JSON.parse(readFileSync(file, "utf8")) as State };
}

async function script(name: string, args: string[], stateFile: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [TSX_CLI, `scripts/${name}`, ...args, "--kubectl", FAKE_KUBECTL],
      {
        cwd: ROOT,
        env: { ...process.env, FAKE_KUBECTL_STATE: stateFile },
      },
    );
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, out: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

const selector = (s: State, name: string) =>
  (s.objects[`service/ecom/${name}`]!.spec["selector"] as Record<string, string>)["ecom.io/color"];

describe("npm run k8s:blue-green", () => {
  it("refuses to switch to an idle colour that is not ready, and changes nothing", async () => {
    const c = cluster(blueGreen, ["gateway-green"]);
    const { code, out } = await script("k8s-blue-green.ts", ["switch"], c.file);
    expect(out).toContain("not switching to green: gateway-green: 0/2 replicas ready");
    expect(code).toBe(1);
    expect(c.read().patches).toEqual([]);
    expect(selector(c.read(), "gateway")).toBe("blue");
  }, 30_000);

  it("switches to the ready idle colour, keeps the old one behind gateway-preview, and switches back", async () => {
    const c = cluster(blueGreen);
    expect((await script("k8s-blue-green.ts", ["status"], c.file)).out).toContain(
      "live: blue\ngateway-blue: ready (live)\ngateway-green: ready (idle)",
    );

    const switched = await script("k8s-blue-green.ts", ["switch"], c.file);
    expect(switched.out).toContain("switched gateway from blue to green");
    expect(switched.code).toBe(0);
    expect(selector(c.read(), "gateway")).toBe("green");
    expect(selector(c.read(), "gateway-preview")).toBe("blue");
    expect(c.read().objects["service/ecom/gateway"]!.metadata.annotations).toMatchObject({
      "ecom.io/live-color": "green",
      "ecom.io/previous-color": "blue",
    });

    const back = await script("k8s-blue-green.ts", ["rollback"], c.file);
    expect(back.out).toContain("rolled gateway back from green to blue");
    expect(selector(c.read(), "gateway")).toBe("blue");
    expect(selector(c.read(), "gateway-preview")).toBe("green");
  }, 60_000);
});

describe("npm run k8s:canary", () => {
  /** Prometheus' query API: the canary serves `perWindow` operations a window, failing at `errorRate(weight)`. */
  async function prometheus(c: { read: () => State }, errorRate: (weight: number) => number, perWindow = 200) {
    const queries: string[] = [];
    const server = http.createServer((req, res) => {
      const query = new URL(req.url ?? "/", "http://x").searchParams.get("query") ?? "";
      queries.push(query);
      const vs = c.read().objects["virtualservice/ecom/gateway"]!;
      const weighted = (vs.spec["http"] as Array<{ name: string; route: Array<{ destination: { subset: string }; weight: number }> }>).find(
        (h) => h.name === "weighted",
      )!;
      const weight = weighted.route.find((r) => r.destination.subset === "canary")!.weight;
      const requests = weight === 0 ? 0 : perWindow;
      const value = query.includes('outcome="error"') ? requests * errorRate(weight) : requests;
      res.setHeader("content-type", "application/json");
      res.end(
        JSON.stringify({
          status: "success",
          data: { resultType: "vector", result: [{ metric: {}, value: [Date.now() / 1000, String(value)] }] },
        }),
      );
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      queries,
      close: () => new Promise<void>((r) => server.close(() => r())),
    };
  }
  const weights = (s: State) =>
    s.patches
      .filter((p) => p.key === "virtualservice/ecom/gateway")
      .map((p) => p.patch.spec!.http!.find((h) => h.name === "weighted")!.route!.map((r) => r.weight));
  const fast = ["--steps", "10,50,100", "--interval", "50ms", "--max-error-rate", "0.05"];

  it("moves the weight in steps to 100 while the canary's error rate stays under the threshold", async () => {
    const c = cluster(canary);
    const prom = await prometheus(c, () => 0.01);
    try {
      const { code, out } = await script("k8s-canary.ts", ["promote", ...fast, "--prometheus", prom.url], c.file);
      expect(out).toContain("canary at 100%");
      expect(code).toBe(0);
      expect(weights(c.read())).toEqual([
        [90, 10],
        [50, 50],
        [0, 100],
      ]);
      // The header route that always reaches the canary is kept by every patch.
      const http = c.read().objects["virtualservice/ecom/gateway"]!.spec["http"] as Array<{ name: string }>;
      expect(http.map((h) => h.name)).toEqual(["canary-header", "weighted"]);
      expect(prom.queries.some((q) => q.includes('track="canary"') && q.includes('outcome="error"'))).toBe(true);
    } finally {
      await prom.close();
    }
  }, 60_000);

  it("stops and sends all traffic back to stable when the canary's error rate exceeds the threshold", async () => {
    const c = cluster(canary);
    const prom = await prometheus(c, (weight) => (weight >= 50 ? 0.2 : 0));
    try {
      const { code, out } = await script("k8s-canary.ts", ["promote", ...fast, "--prometheus", prom.url], c.file);
      expect(out).toContain("aborted at 50%: error rate 20.00% above 5.00%");
      expect(code).toBe(1);
      expect(weights(c.read())).toEqual([
        [90, 10],
        [50, 50],
        [100, 0],
      ]);
    } finally {
      await prom.close();
    }
  }, 60_000);

  it("does not start when the canary Deployment is not ready, and aborts when there is no traffic to judge", async () => {
    const notReady = cluster(canary, ["gateway-canary"]);
    const refused = await script("k8s-canary.ts", ["promote", ...fast, "--prometheus", "http://127.0.0.1:9"], notReady.file);
    expect(refused.out).toContain("not starting: gateway-canary: 0/1 replicas ready");
    expect(refused.code).toBe(1);
    expect(notReady.read().patches).toEqual([]);

    const idle = cluster(canary);
    const prom = await prometheus(idle, () => 0, 3);
    try {
      const { code, out } = await script("k8s-canary.ts", ["promote", ...fast, "--max-holds", "2", "--prometheus", prom.url], idle.file);
      expect(out).toContain("aborted at 10%: fewer than 20 operations in 2 windows");
      expect(code).toBe(1);
      expect(weights(idle.read()).at(-1)).toEqual([100, 0]);
    } finally {
      await prom.close();
    }
  }, 60_000);
});
