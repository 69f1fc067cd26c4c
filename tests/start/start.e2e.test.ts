import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { getFreePort, processesWithEnv, waitFor } from "@ecom/testing";

const ROOT = path.resolve(import.meta.dirname, "../..");
const tsx = createRequire(import.meta.url).resolve("tsx/cli");

interface StartRun {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function npmStart(env: Record<string, string>): StartRun {
  const child = spawn(process.execPath, [tsx, "scripts/start.ts"], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: "1", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => out, exited };
}

/** Waits until `predicate` holds on npm start's output, which the error shows. */
const waitForOutput = (predicate: () => boolean, timeoutMs: number, what: string, output: () => string) =>
  waitFor(what, predicate, { timeoutMs, intervalMs: 200, diagnostics: () => `Output:\n${output()}` });

/** The command line of a process, arguments joined by spaces ("" when gone). */
function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").join(" ");
  } catch {
    return "";
  }
}

async function gql(url: string, query: string): Promise<{ data?: unknown; errors?: Array<{ extensions?: { code?: string } }> }> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query }) });
  return (await res.json()) as { data?: unknown; errors?: Array<{ extensions?: { code?: string } }> };
}

describe("npm start", () => {
  const run = inject("testRun");
  const started: StartRun[] = [];
  afterAll(() => {
    for (const s of started) s.child.kill("SIGKILL");
  });

  it("exits within seconds with the fix named when Postgres is not reachable", async () => {
    const closedPort = await getFreePort();
    const t0 = Date.now();
    const s = npmStart({ POSTGRES_ADMIN_URL: `postgres://postgres@127.0.0.1:${closedPort}/postgres` });
    started.push(s);
    const code = await s.exited;
    expect(code).toBe(1);
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(s.output()).toMatch(/Postgres is not reachable at postgres:\/\/postgres@127\.0\.0\.1:\d+/);
    expect(s.output()).toContain("pg_ctlcluster --skip-systemctl-redirect");
  });

  it("exits within seconds with the fix named when Redis is not reachable", async () => {
    const closedPort = await getFreePort();
    const s = npmStart({ POSTGRES_ADMIN_URL: run.adminUrl, REDIS_URL: `redis://127.0.0.1:${closedPort}` });
    started.push(s);
    expect(await s.exited).toBe(1);
    expect(s.output()).toContain("Redis is not reachable");
    expect(s.output()).toContain("redis-server --daemonize yes");
  });

  // Sixteen processes (subgraphs, workers, gateway, dashboard) boot on a shared 2-core machine: minutes, not seconds.
  it(
    "brings up every subgraph, worker and the gateway, seeded, restarts a subgraph killed with SIGKILL, and Ctrl-C leaves no process behind",
    { timeout: 360_000 },
    async () => {
      const prefix = `${run.prefix}_start`;
      const basePort = 20_000 + Math.floor(Math.random() * 400) * 10;
      // NODE_ENV=development as a developer runs it (vitest sets "test", under which Apollo handles signals differently).
      const s = npmStart({
        NODE_ENV: "development",
        POSTGRES_ADMIN_URL: run.adminUrl,
        REDIS_URL: run.redisUrl,
        DATABASE_PREFIX: prefix,
        START_BASE_PORT: String(basePort),
      });
      started.push(s);
      let exitedEarly = false;
      void s.exited.then(() => (exitedEarly = true));
      await waitForOutput(() => s.output().includes("The platform is running.") || exitedEarly, 330_000, "the platform to start", s.output);
      expect(exitedEarly, s.output()).toBe(false);

      // Every process the start script announced answers /health/ready.
      const ports = [...s.output().matchAll(/ready on :(\d+)/g)].map((m) => Number(m[1]));
      const subgraphDirs = readdirSync(path.join(ROOT, "subgraphs"), { withFileTypes: true }).filter((d) => d.isDirectory());
      const workerCount = subgraphDirs.filter((d) => existsSync(path.join(ROOT, "subgraphs", d.name, "src", "worker.ts"))).length;
      // Every subgraph, every worker, the gateway, and (development) the queue dashboard.
      expect(ports.length).toBe(subgraphDirs.length + workerCount + 2);
      expect(ports).toContain(basePort);
      const dashboard = /Queue dashboard\s+(http:\/\/localhost:\d+\/queues)/.exec(s.output())?.[1];
      expect(dashboard, "the queue dashboard's URL is printed").toBeDefined();
      const page = await fetch(dashboard!.replace("localhost", "127.0.0.1"));
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<div id="root">');
      for (const port of ports) {
        const res = await fetch(`http://127.0.0.1:${port}/health/ready`);
        expect(res.status, `port ${port}`).toBe(200);
      }
      const res = await fetch(`http://127.0.0.1:${basePort}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: "{ __typename }" }),
      });
      expect(await res.json()).toEqual({ data: { __typename: "Query" } });

      // Seeded: the demo admin can sign in through the gateway.
      const login = await fetch(`http://127.0.0.1:${basePort}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: 'mutation { login(email: "admin@example.com", password: "password123") { user { role } } }' }),
      });
      expect(((await login.json()) as { data: { login: { user: { role: string } } } }).data.login.user.role).toBe("ADMIN");

      const marker = `DATABASE_PREFIX=${prefix}`;
      expect(processesWithEnv(marker).length).toBeGreaterThanOrEqual(ports.length);

      // Supervision: the products service process (tsx's child, the one running the loader) dies by SIGKILL, as
      // under the OOM killer. npm start says so, starts it again, and the gateway serves products again.
      const productsPort = Number(/products ready on :(\d+)/.exec(s.output())?.[1]);
      const productsQuery = "{ products(first: 1) { edges { node { name } } } }";
      expect((await gql(`http://127.0.0.1:${basePort}/graphql`, productsQuery)).errors).toBeUndefined();
      const victims = processesWithEnv(marker).filter((pid) => {
        const env = readFileSync(`/proc/${pid}/environ`, "latin1").split("\0");
        return env.includes(`PORT=${productsPort}`) && cmdlineOf(pid).includes("loader.mjs");
      });
      expect(victims, "the products service process").toHaveLength(1);
      process.kill(victims[0]!, "SIGKILL");
      await waitForOutput(
        () => /\[products\] exited unexpectedly \(.+\): restarting in/.test(s.output()),
        30_000,
        "the exit to be reported",
        s.output,
      );
      await waitForOutput(
        () => s.output().includes(`products ready again on :${productsPort}`),
        120_000,
        "products to come back",
        s.output,
      );
      const deadline = Date.now() + 30_000;
      let served = await gql(`http://127.0.0.1:${basePort}/graphql`, productsQuery);
      while (served.errors && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        served = await gql(`http://127.0.0.1:${basePort}/graphql`, productsQuery);
      }
      expect(served.errors, JSON.stringify(served)).toBeUndefined();
      expect(served.data).toMatchObject({ products: { edges: [{ node: { name: expect.any(String) } }] } });
      expect(exitedEarly, s.output()).toBe(false);
      s.child.kill("SIGINT");
      expect(await s.exited).toBe(0);
      expect(s.output()).toContain("all processes stopped");
      expect(processesWithEnv(marker)).toEqual([]);
      for (const port of ports) {
        await expect(fetch(`http://127.0.0.1:${port}/health/live`)).rejects.toThrow();
      }
    },
  );
});
