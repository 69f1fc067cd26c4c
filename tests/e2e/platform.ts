/**
 * The whole platform as real processes, for end-to-end tests: the seven subgraphs, their workers (src/worker.ts:
 * event consumers and outbox relays, on a BullMQ prefix of the platform's own) and the gateway, each started as
 * `npm start` starts it (tsx), each subgraph over a private clone of its migrated test database seeded with the
 * demo data by its own `src/seed.ts` (run as a process, as `npm run db:seed` does); a worker shares its subgraph's.
 *
 * Every process listens on PORT=0 and the platform reads the port it got from its "ready" log line: a port picked
 * in advance (getFreePort) can be taken by anything else on the machine (outgoing connections use the same
 * ephemeral range) during the seconds a process needs to boot, which made whole runs fail with EADDRINUSE.
 *
 * ```ts
 * const platform = createPlatform();
 * beforeAll(() => platform.start());
 * afterAll(() => platform.stop());
 * ```
 *
 * `stop` stops whatever was started so far, also when `start` failed or is still running (a hook timeout), so
 * that a failing test never leaves a process or a database behind.
 *
 * Every process of a platform reads the control plane (live configuration, service registry, request nonces, and
 * through the gateway's default the rate-limit counters) under {@link Platform.controlPlanePrefix}, a prefix of its
 * own under the test run's: under the default `ecom:` an `npm run config set` run by anyone on the machine, or by
 * another test, would reach this platform's gateway. A test that sets live configuration on purpose runs the CLI
 * with `CONTROL_PLANE_PREFIX=<platform.controlPlanePrefix>` (scripts/config.ts and `npm run show` read it from the
 * environment), or `runConfigCli` over a store with that prefix.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import { formatKeyring, pairKeyringFromMaster, serviceKeyring, type Keyring } from "@ecom/auth";
import { createClient, LoginDocument, type Client } from "@ecom/client";
import { SUBGRAPH_NAMES, subgraphUrlVariable, type SubgraphName } from "@ecom/config";
import { DEMO_PASSWORD } from "@ecom/demo-data";
import {
  createTestDatabase,
  ROOT_DIR,
  runSeed,
  startService,
  type RunningProcess,
  type TestDatabase,
  type TestRunInfo,
} from "@ecom/testing";

/**
 * The master signing keys of e2e platforms (not the development ones, so the wiring of SIGNING_KEYS is what is
 * tested): the gateway gets them, each subgraph its service keys, orders its K(orders -> products).
 */
export const E2E_SIGNING_KEYS: Keyring = [{ kid: "e2e", key: createHash("sha256").update("ecom-e2e-signing-master-key").digest() }];

/** The signing variables of subgraph `name` on an e2e platform. */
export function signingEnvOf(name: SubgraphName): Record<string, string> {
  return {
    SIGNING_KEYS: formatKeyring(serviceKeyring(E2E_SIGNING_KEYS, name)),
    ...(name === "orders" ? { PRODUCTS_SIGNING_KEYS: formatKeyring(pairKeyringFromMaster(E2E_SIGNING_KEYS, "orders", "products")) } : {}),
  };
}

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

/** One running worker. */
export interface RunningWorker {
  name: SubgraphName;
  /** Its health and metrics listener, e.g. `http://127.0.0.1:41235`. */
  origin: string;
  process: RunningProcess;
}

/** Options of {@link createPlatform}. */
export interface PlatformOptions {
  /**
   * LOG_LEVEL of every process (their output is kept in memory and shown when one fails to start). At least
   * `info`: the platform learns each process's port from its "ready" line.
   * @default "info"
   */
  logLevel?: "info" | "debug" | "trace";
  /**
   * Extra gateway environment, computed once the subgraphs run (e.g. SUBGRAPH_<NAME>_URL pointing at a test's
   * proxy, RESILIENCE_CONFIG). Set over the defaults.
   * @default none
   */
  gatewayEnv?: (subgraphs: Readonly<Record<SubgraphName, RunningSubgraph>>) => Record<string, string> | Promise<Record<string, string>>;
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
  /** The workers of the subgraphs that have one. */
  readonly workers: Readonly<Partial<Record<SubgraphName, RunningWorker>>>;
  /** The BullMQ key prefix of this platform's queues. */
  readonly queuePrefix: string;
  /** CONTROL_PLANE_PREFIX of every process of this platform (live configuration, registry, nonces, rate limits). */
  readonly controlPlanePrefix: string;
  /** A typed client of the gateway (anonymous). */
  client(): Client;
  /** A client signed in as a demo user (password {@link DEMO_PASSWORD}), with the user's id. */
  login(email: string): Promise<{ client: Client; token: string; userId: string }>;
  /** The gateway process (its output, for diagnostics). */
  readonly gateway: RunningProcess | undefined;
  /** `db_statements_total` of every subgraph, read from its `/metrics`. */
  dbStatements(): Promise<Record<SubgraphName, number>>;
  /** SIGKILLs a subgraph's processes (no graceful stop: a crash) and waits until they are gone. */
  kill(name: SubgraphName): Promise<void>;
  /**
   * Starts a killed (or stopped) subgraph again over the same database (no reseeding), on a new port: `subgraphs[name]`
   * then names its new URL. Resolves once it is ready.
   */
  restart(name: SubgraphName): Promise<RunningSubgraph>;
}

/** Reads `db_statements_total` from a Prometheus text exposition. */
export function parseDbStatements(metricsText: string): number {
  const match = /^db_statements_total(?:\{[^}]*\})? (\d+(?:\.\d+)?(?:e\+?\d+)?)$/m.exec(metricsText);
  if (!match) throw new Error("db_statements_total not found in /metrics");
  return Number(match[1]);
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
  const logLevel = options.logLevel ?? "info";
  const processes: RunningProcess[] = [];
  const databases: TestDatabase[] = [];
  const subgraphs = {} as Record<SubgraphName, RunningSubgraph>;
  const workers: Partial<Record<SubgraphName, RunningWorker>> = {};
  const queuePrefix = `${run.redisPrefix}e2e${randomBytes(3).toString("hex")}`;
  const controlPlanePrefix = `${queuePrefix}:`;
  // The control plane of this platform only, in every process that reads it (see the module comment).
  const controlPlaneEnv = { REDIS_URL: run.redisUrl, CONTROL_PLANE_PREFIX: controlPlanePrefix };
  let gateway: RunningProcess | undefined;
  let gatewayOrigin = "";
  let stopped = false;
  let stopping: Promise<void> | undefined;

  const track = (p: RunningProcess) => {
    processes.push(p);
    // stop() ran while this was starting: stop it right away.
    if (stopped) void stopProcess(p);
    return p;
  };
  const assertRunning = () => {
    if (stopped) throw new Error("the platform was stopped while starting");
  };

  const subgraphEnv = new Map<SubgraphName, Record<string, string>>();

  /** Clones and seeds the subgraph's database, then starts it once `extraEnv` (URLs it needs) is known. */
  async function startSubgraph(name: SubgraphName, extraEnv: () => Promise<Record<string, string>> = async () => ({})): Promise<void> {
    const db = await createTestDatabase(run, name);
    databases.push(db);
    assertRunning();
    await runSeed(name, db.url, { onSpawn: track });
    const env = await extraEnv();
    assertRunning();
    subgraphEnv.set(name, env);
    await launchSubgraph(name, db, env);
  }

  /** Starts the subgraph's process over `db` and waits until it is ready. */
  async function launchSubgraph(name: SubgraphName, db: TestDatabase, env: Record<string, string>): Promise<void> {
    const proc = await startService(name, {
      logLevel,
      // The replay check's nonces live under the platform's control-plane prefix.
      env: { DATABASE_URL: db.url, ...controlPlaneEnv, ...signingEnvOf(name), ...env },
      readyPath: "/health/ready",
      onSpawn: track,
    });
    subgraphs[name] = { name, origin: proc.origin, url: proc.url, db, process: proc };
    await startWorker(name, db);
  }

  /** Starts the subgraph's worker (when it has one) over the subgraph's database. */
  async function startWorker(name: SubgraphName, db: TestDatabase): Promise<void> {
    if (!existsSync(path.join(ROOT_DIR, "subgraphs", name, "src", "worker.ts"))) return;
    assertRunning();
    const proc = await startService(name, {
      worker: true,
      logLevel,
      env: {
        DATABASE_URL: db.url,
        ...controlPlaneEnv,
        QUEUE_PREFIX: queuePrefix,
        RELAY_POLL_INTERVAL: "250ms",
        EVENTS_BACKOFF: "200ms",
      },
      readyPath: "/health/ready",
      onSpawn: track,
    });
    workers[name] = { name, origin: proc.origin, process: proc };
  }

  const platform: Platform = {
    get gatewayUrl() {
      return `${gatewayOrigin}/graphql`;
    },
    get gatewayOrigin() {
      return gatewayOrigin;
    },
    get gateway() {
      return gateway;
    },
    subgraphs,
    workers,
    queuePrefix,
    controlPlanePrefix,

    async start() {
      // orders prices new orders with an _entities call to products: it starts once products listens.
      const products = startSubgraph("products");
      const started = await Promise.allSettled(
        SUBGRAPH_NAMES.map((name) => {
          if (name === "products") return products;
          if (name === "orders") return startSubgraph(name, () => products.then(() => ({ PRODUCTS_URL: subgraphs.products.url })));
          return startSubgraph(name);
        }),
      );
      const failures = started.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => String(r.reason));
      if (failures.length > 0) throw new Error(`the platform did not start:\n${failures.join("\n\n")}`);
      assertRunning();

      const service = await startService("gateway", {
        logLevel,
        env: {
          SIGNING_KEYS: formatKeyring(E2E_SIGNING_KEYS),
          JWKS_URL: `${subgraphs.users.origin}/.well-known/jwks.json`,
          // A loaded 2-core machine answers slower than a laptop: no spurious SUBGRAPH_UNAVAILABLE.
          SUBGRAPH_TIMEOUT: "20s",
          // Live configuration of this platform only; its rate-limit counters default to <prefix>ratelimit: (other
          // files' gateways share the Redis and the address).
          ...controlPlaneEnv,
          ...Object.fromEntries(SUBGRAPH_NAMES.map((name) => [subgraphUrlVariable(name), subgraphs[name].url])),
          ...(await options.gatewayEnv?.(subgraphs)),
        },
        // Ready: the gateway reaches every subgraph (each answers its own /health/ready).
        readyPath: "/health/ready",
        onSpawn: (p) => (gateway = track(p)),
      });
      gatewayOrigin = service.origin;
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

    async kill(name) {
      const proc = subgraphs[name].process;
      try {
        // The whole group (tsx and the node process it runs), at once: a crash, not a shutdown.
        if (proc.child.pid) process.kill(-proc.child.pid, "SIGKILL");
      } catch {
        // already gone
      }
      await proc.exited;
      await proc.stop();
    },

    async restart(name) {
      const { db } = subgraphs[name];
      const proc = subgraphs[name].process;
      if (proc.child.exitCode === null && proc.child.signalCode === null) throw new Error(`${name} is still running: kill it first`);
      await launchSubgraph(name, db, subgraphEnv.get(name) ?? {});
      return subgraphs[name];
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
