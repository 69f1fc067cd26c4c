/**
 * Graceful shutdown under load, with real processes: two instances of a deployable behind a client that balances
 * like Kubernetes endpoints do (it polls each instance's `/health/ready` and only sends to the ready ones). One
 * instance gets SIGTERM in the middle of the load: its readiness turns false at once, the balancer stops sending,
 * requests already in flight finish, and the process exits 0. Not one request fails, for the gateway and for a
 * subgraph.
 *
 * The timings are the manifests' shape at a smaller scale: SHUTDOWN_DELAY (readiness fails, still serving) longer
 * than the balancer's polling period, then the drain.
 */
import { createRequire } from "node:module";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { devMasterKeyring } from "@ecom/auth";
import { createTestDatabase, ROOT_DIR, signedHeaders, startProcess, type RunningProcess, type TestDatabase } from "@ecom/testing";
import { composeSupergraph, readSubgraphSources } from "../../scripts/compose.ts";

const TSX = createRequire(import.meta.url).resolve("tsx");
/** Readiness fails this long before the listener closes: several balancer polls. */
const SHUTDOWN_DELAY_MS = 1_000;
const POLL_MS = 100;
const CONCURRENCY = 8;

/** Starts `src/index.ts` of a workspace as one Node process (SIGTERM reaches it directly) and waits for its URL. */
async function startInstance(name: string, workspace: string, readyMessage: string, env: Record<string, string>) {
  const proc = await startProcess({
    name,
    command: process.execPath,
    args: ["--import", TSX, "src/index.ts"],
    cwd: path.join(ROOT_DIR, workspace),
    env: {
      NODE_ENV: "test",
      LOG_LEVEL: "info",
      HOST: "127.0.0.1",
      PORT: "0",
      SHUTDOWN_DELAY: `${SHUTDOWN_DELAY_MS}ms`,
      DRAIN_TIMEOUT: "5s",
      ...env,
    },
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const line = proc
      .output()
      .split("\n")
      .find((l) => l.includes(readyMessage));
    if (line) {
      const origin = new URL((JSON.parse(line) as { url: string }).url).origin;
      return { proc, origin };
    }
    if (proc.child.exitCode !== null || Date.now() > deadline) throw new Error(`${name} did not start:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Backend {
  name: string;
  origin: string;
  ready: boolean;
  /** Time readiness was first seen failing. */
  notReadySince?: number;
  served: number;
  /** Responses it completed after SIGTERM was sent (the drain at work). */
  servedAfterSignal: number;
}

const signAsGateway = signedHeaders("products", null, { master: devMasterKeyring() });

/** Balances GraphQL requests over the ready backends, polling readiness like Kubernetes endpoints do. */
function createBalancer(backends: Backend[], query: string) {
  let running = true;
  let signalledAt: number | undefined;
  const failures: string[] = [];
  let sent = 0;
  let next = 0;

  const poll = async (b: Backend) => {
    while (running) {
      const ok = await fetch(`${b.origin}/health/ready`, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.ok,
        () => false,
      );
      if (!ok && b.ready) b.notReadySince = Date.now();
      b.ready = ok;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  };
  const worker = async () => {
    while (running) {
      const ready = backends.filter((b) => b.ready);
      if (ready.length === 0) {
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      const b = ready[next++ % ready.length]!;
      sent++;
      try {
        const url = new URL("/graphql", b.origin);
        const body = JSON.stringify({ query });
        const res = await fetch(url, {
          method: "POST",
          // Signed for products (the processes run on the development keys); a gateway ignores the signature.
          headers: { "content-type": "application/json", "apollo-require-preflight": "true", ...signAsGateway(body, url) },
          body,
          signal: AbortSignal.timeout(10_000),
        });
        const answer = (await res.json()) as { data?: unknown; errors?: Array<{ message: string }> };
        if (!res.ok || answer.errors || !answer.data)
          failures.push(`${b.name}: HTTP ${res.status} ${JSON.stringify(answer.errors ?? answer)}`);
        else {
          b.served++;
          if (signalledAt !== undefined) b.servedAfterSignal++;
        }
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause?.code;
        failures.push(`${b.name}: ${cause ?? (error as Error).message}`);
      }
    }
  };
  const loops = [...backends.map(poll), ...Array.from({ length: CONCURRENCY }, worker)];
  return {
    failures,
    sent: () => sent,
    markSignal: () => (signalledAt = Date.now()),
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/**
 * Runs load over two instances, SIGTERMs the first once it has served some requests, keeps the load on until it
 * exited and a little longer; returns what the balancer saw.
 */
async function drainUnderLoad(instances: Array<{ name: string; proc: RunningProcess; origin: string }>, query: string) {
  const backends: Backend[] = instances.map((i) => ({ name: i.name, origin: i.origin, ready: false, served: 0, servedAfterSignal: 0 }));
  const balancer = createBalancer(backends, query);
  const victim = instances[0]!;
  const waitFor = async (condition: () => boolean, what: string, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; failures: ${balancer.failures.join("; ")}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  try {
    await waitFor(() => backends.every((b) => b.served >= 20), "both instances to serve traffic");
    const signalledAt = Date.now();
    balancer.markSignal();
    victim.proc.child.kill("SIGTERM");
    const code = await Promise.race([victim.proc.exited, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 20_000))]);
    const exitedAfterMs = Date.now() - signalledAt;
    const servedBySurvivor = backends[1]!.served;
    await waitFor(() => backends[1]!.served > servedBySurvivor + 20, "the other instance to keep serving");
    return { code, exitedAfterMs, backends, failures: [...balancer.failures], sent: balancer.sent(), output: victim.proc.output() };
  } finally {
    await balancer.stop();
  }
}

const started: RunningProcess[] = [];
const databases: TestDatabase[] = [];
const tmp = mkdtempSync(path.join(os.tmpdir(), "graceful-shutdown-"));
let productsA: { proc: RunningProcess; origin: string };
let productsB: { proc: RunningProcess; origin: string };

beforeAll(async () => {
  const db = await createTestDatabase(inject("testRun"), "products");
  databases.push(db);
  const start = async (...args: Parameters<typeof startInstance>) => {
    const instance = await startInstance(...args);
    started.push(instance.proc);
    return instance;
  };
  [productsA, productsB] = await Promise.all([
    start("products A", "subgraphs/products", "products subgraph ready", { DATABASE_URL: db.url }),
    start("products B", "subgraphs/products", "products subgraph ready", { DATABASE_URL: db.url }),
  ]);
}, 180_000);

afterAll(async () => {
  await Promise.all(started.map((p) => p.stop(2000)));
  for (const db of databases) await db[Symbol.asyncDispose]();
  rmSync(tmp, { recursive: true, force: true });
});

describe("SIGTERM under load", () => {
  it("a gateway drains with zero failed requests while the other instance carries on, then exits 0", async () => {
    // A supergraph of the products subgraph alone: the gateways are ready without the six others.
    const composed = composeSupergraph(readSubgraphSources().filter((s) => s.name === "products"));
    if (!composed.ok) throw new Error(composed.errors.join("\n"));
    const supergraph = path.join(tmp, "supergraph.graphql");
    writeFileSync(supergraph, composed.supergraphSdl);
    const env = { SUPERGRAPH_PATH: supergraph, SUBGRAPH_PRODUCTS_URL: `${productsB.origin}/graphql` };
    const gateways = await Promise.all(
      ["gateway A", "gateway B"].map(async (name) => {
        const instance = await startInstance(name, "gateway", "gateway ready", env);
        started.push(instance.proc);
        return { name, ...instance };
      }),
    );

    const result = await drainUnderLoad(gateways, "{ products(first: 3) { totalCount edges { node { id name } } } }");
    expect(result.failures).toEqual([]);
    expect(result.code).toBe(0);
    const [victim] = result.backends;
    // It kept serving while readiness was already false (the balancer saw it go), then drained.
    expect(victim!.notReadySince).toBeDefined();
    expect(victim!.servedAfterSignal).toBeGreaterThan(0);
    expect(result.exitedAfterMs).toBeGreaterThanOrEqual(SHUTDOWN_DELAY_MS);
    expect(result.output).toContain('"msg":"stopped"');
  }, 120_000);

  it("a subgraph drains with zero failed requests while the other instance carries on, then exits 0", async () => {
    const result = await drainUnderLoad(
      [
        { name: "products A", ...productsA },
        { name: "products B", ...productsB },
      ],
      "{ products(first: 3) { totalCount edges { node { id name } } } }",
    );
    expect(result.failures).toEqual([]);
    expect(result.code).toBe(0);
    expect(result.backends[0]!.notReadySince).toBeDefined();
    expect(result.backends[0]!.servedAfterSignal).toBeGreaterThan(0);
    expect(result.exitedAfterMs).toBeGreaterThanOrEqual(SHUTDOWN_DELAY_MS);
  }, 120_000);
});
