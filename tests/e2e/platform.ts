/**
 * The whole platform as real processes, for end-to-end tests: the seven subgraphs and the gateway, each started
 * as `npm start` starts it (tsx src/index.ts) on a free port, each subgraph over a private clone of its migrated
 * test database seeded with the demo data by its own `src/seed.ts` (run as a process, as `npm run db:seed` does).
 *
 * ```ts
 * const platform = createPlatform();
 * beforeAll(() => platform.start());
 * afterAll(() => platform.stop());
 * ```
 *
 * `stop` stops whatever was started so far, also when `start` failed or is still running (a hook timeout), so
 * that a failing test never leaves a process or a database behind.
 */
import { createRequire } from "node:module";
import path from "node:path";
import { createClient, LoginDocument, type Client } from "@ecom/client";
import { SUBGRAPH_NAMES, subgraphUrlVariable, type SubgraphName } from "@ecom/config";
import { DEMO_PASSWORD } from "@ecom/demo-data";
import {
  createTestDatabase,
  getFreePort,
  ROOT_DIR,
  startProcess,
  type RunningProcess,
  type TestDatabase,
  type TestRunInfo,
} from "@ecom/testing";

const TSX_CLI = createRequire(import.meta.url).resolve("tsx/cli");

/** Shared by the gateway and every subgraph: identity headers are trusted only with it. */
const INTERNAL_SECRET = "e2e-internal-secret-0123456789";

/** One running subgraph. */
export interface RunningSubgraph {
  name: SubgraphName;
  /** e.g. `http://127.0.0.1:41234`. */
  origin: string;
  /** Its `/graphql`. */
  url: string;
  db: TestDatabase;
  process: RunningProcess;
}

/** Options of {@link createPlatform}. */
export interface PlatformOptions {
  /**
   * LOG_LEVEL of every process (their output is kept in memory and shown when one fails to start).
   * @default "warn"
   */
  logLevel?: string;
}

/** The platform of one test file. */
export interface Platform {
  /** Clones and seeds the databases, starts the subgraphs and the gateway; resolves when the gateway is ready. */
  start(): Promise<void>;
  /** Stops every process and drops every database started so far. Idempotent; never throws. */
  stop(): Promise<void>;
  /** The gateway's `/graphql`. */
  readonly gatewayUrl: string;
  readonly gatewayOrigin: string;
  readonly subgraphs: Readonly<Record<SubgraphName, RunningSubgraph>>;
  /** A typed client of the gateway (anonymous). */
  client(): Client;
  /** A client signed in as a demo user (password {@link DEMO_PASSWORD}), with the user's id. */
  login(email: string): Promise<{ client: Client; token: string; userId: string }>;
  /** `db_statements_total` of every subgraph, read from its `/metrics`. */
  dbStatements(): Promise<Record<SubgraphName, number>>;
}

/** Reads `db_statements_total` from a Prometheus text exposition. */
export function parseDbStatements(metricsText: string): number {
  const match = /^db_statements_total(?:\{[^}]*\})? (\d+(?:\.\d+)?(?:e\+?\d+)?)$/m.exec(metricsText);
  if (!match) throw new Error("db_statements_total not found in /metrics");
  return Number(match[1]);
}

/** Runs `subgraphs/<name>/src/seed.ts` against `databaseUrl` and waits for it to succeed. */
async function runSeed(name: SubgraphName, databaseUrl: string, track: (p: RunningProcess) => void): Promise<void> {
  const seed = await startProcess({
    name: `${name} seed`,
    command: process.execPath,
    args: [TSX_CLI, "src/seed.ts"],
    cwd: path.join(ROOT_DIR, "subgraphs", name),
    env: { NODE_ENV: "test", LOG_LEVEL: "warn", DATABASE_URL: databaseUrl },
  });
  track(seed);
  const code = await seed.exited;
  if (code !== 0) throw new Error(`${name} seed exited with ${code}:\n${seed.output()}`);
}

/**
 * SIGTERM to the tsx leader (which relays it to the service: a graceful stop), then, after `graceMs`, the
 * whole process group is killed: whatever happens, nothing is left running.
 */
async function stopProcess(proc: RunningProcess, graceMs = 5000): Promise<void> {
  if (proc.child.exitCode === null && proc.child.signalCode === null) {
    proc.child.kill("SIGTERM");
    await Promise.race([proc.exited, new Promise((r) => setTimeout(r, graceMs).unref())]);
  }
  await proc.stop(1000);
}

/** A platform over the test run's databases; nothing starts before {@link Platform.start}. */
export function createPlatform(run: TestRunInfo, options: PlatformOptions = {}): Platform {
  const logLevel = options.logLevel ?? "warn";
  const processes: RunningProcess[] = [];
  const databases: TestDatabase[] = [];
  const subgraphs = {} as Record<SubgraphName, RunningSubgraph>;
  let gatewayOrigin = "";
  let stopped = false;
  let stopping: Promise<void> | undefined;

  const track = (p: RunningProcess) => {
    processes.push(p);
    // stop() ran while this was starting: stop it right away.
    if (stopped) void stopProcess(p);
  };
  const assertRunning = () => {
    if (stopped) throw new Error("the platform was stopped while starting");
  };

  async function startSubgraph(name: SubgraphName, port: number, productsUrl: string): Promise<void> {
    const db = await createTestDatabase(run, name);
    databases.push(db);
    assertRunning();
    await runSeed(name, db.url, track);
    assertRunning();
    const origin = `http://127.0.0.1:${port}`;
    const proc = await startProcess({
      name,
      command: process.execPath,
      args: [TSX_CLI, "src/index.ts"],
      cwd: path.join(ROOT_DIR, "subgraphs", name),
      env: {
        NODE_ENV: "test",
        LOG_LEVEL: logLevel,
        HOST: "127.0.0.1",
        PORT: String(port),
        DATABASE_URL: db.url,
        INTERNAL_SECRET,
        // orders prices new orders with an _entities call to products.
        ...(name === "orders" ? { PRODUCTS_URL: productsUrl } : {}),
      },
      readyUrl: `${origin}/health/ready`,
      readyTimeoutMs: 120_000,
    });
    track(proc);
    subgraphs[name] = { name, origin, url: `${origin}/graphql`, db, process: proc };
  }

  const platform: Platform = {
    get gatewayUrl() {
      return `${gatewayOrigin}/graphql`;
    },
    get gatewayOrigin() {
      return gatewayOrigin;
    },
    subgraphs,

    async start() {
      const ports = new Map<SubgraphName, number>();
      for (const name of SUBGRAPH_NAMES) ports.set(name, await getFreePort());
      const gatewayPort = await getFreePort();
      const urlOf = (name: SubgraphName) => `http://127.0.0.1:${ports.get(name)}/graphql`;

      // The gateway needs no subgraph to boot (the supergraph is static): it starts alongside them.
      gatewayOrigin = `http://127.0.0.1:${gatewayPort}`;
      const gateway = startProcess({
        name: "gateway",
        command: process.execPath,
        args: [TSX_CLI, "gateway/src/index.ts"],
        cwd: ROOT_DIR,
        env: {
          NODE_ENV: "test",
          LOG_LEVEL: logLevel,
          HOST: "127.0.0.1",
          PORT: String(gatewayPort),
          INTERNAL_SECRET,
          JWKS_URL: `http://127.0.0.1:${ports.get("users")}/.well-known/jwks.json`,
          // A loaded 2-core machine answers slower than a laptop: no spurious SUBGRAPH_UNAVAILABLE.
          SUBGRAPH_TIMEOUT: "20s",
          ...Object.fromEntries(SUBGRAPH_NAMES.map((name) => [subgraphUrlVariable(name), urlOf(name)])),
        },
        readyUrl: `${gatewayOrigin}/health/live`,
        readyTimeoutMs: 120_000,
      }).then(track);

      const started = await Promise.allSettled([
        gateway,
        ...SUBGRAPH_NAMES.map((name) => startSubgraph(name, ports.get(name)!, urlOf("products"))),
      ]);
      const failures = started.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => String(r.reason));
      if (failures.length > 0) throw new Error(`the platform did not start:\n${failures.join("\n\n")}`);

      // Ready: the gateway reaches every subgraph (each answers its own /health/ready).
      const res = await fetch(`${gatewayOrigin}/health/ready`);
      if (!res.ok) throw new Error(`gateway not ready: ${res.status} ${await res.text()}`);
    },

    stop() {
      stopped = true;
      stopping ??= (async () => {
        await Promise.allSettled(processes.map((p) => stopProcess(p)));
        await Promise.allSettled(databases.map((db) => db.drop()));
      })();
      return stopping;
    },

    client: () => createClient({ url: platform.gatewayUrl }),

    async login(email) {
      const client = createClient({ url: platform.gatewayUrl });
      const { login } = await client.request(LoginDocument, { email, password: DEMO_PASSWORD });
      return { client: client.withToken(login.token), token: login.token, userId: login.user.id };
    },

    async dbStatements() {
      const counts = await Promise.all(
        SUBGRAPH_NAMES.map(async (name) => {
          const res = await fetch(`${subgraphs[name].origin}/metrics`);
          if (!res.ok) throw new Error(`${name} /metrics answered ${res.status}`);
          return [name, parseDbStatements(await res.text())] as const;
        }),
      );
      return Object.fromEntries(counts) as Record<SubgraphName, number>;
    },
  };
  return platform;
}
