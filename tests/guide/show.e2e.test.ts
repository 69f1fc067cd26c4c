/**
 * Every `npm run show -- <pattern>` against one real `npm start -- --scale products=2` (registry mode, as the
 * guide says to run it), started once for the file on ports and names of its own. Each show runs as its own
 * process, as a person runs it; the test checks its exit status and the lines that say the pattern happened.
 * The breaker show kills a subgraph (npm start restarts it): it runs last.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { createRequire } from "node:module";
import { stripVTControlCharacters } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { deleteRedisKeys, processesWithEnv, ROOT_DIR } from "@ecom/testing";

const TSX = createRequire(import.meta.url).resolve("tsx/cli");

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function run(args: string[], env: Record<string, string>): Started {
  const child = spawn(process.execPath, [TSX, ...args], {
    cwd: ROOT_DIR,
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => stripVTControlCharacters(out), exited };
}

/** True when nothing listens on `port` now. */
function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "0.0.0.0", () => server.close(() => resolve(true)));
  });
}

/**
 * A START_BASE_PORT whose ports are all free now: the gateway +0, subgraphs +1..+7, the dashboard +90, workers
 * +101..+107, products-2 +1002. Below Linux's ephemeral range (32768 and up), where outgoing connections take ports,
 * and away from tests/start's 20000-24000.
 */
async function freeBasePort(): Promise<number> {
  const offsets = [0, 1, 2, 3, 4, 5, 6, 7, 90, 101, 102, 103, 104, 105, 106, 107, 1002];
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 25_000 + Math.floor(Math.random() * 600) * 10;
    const free = await Promise.all(offsets.map((o) => isFree(base + o)));
    if (free.every(Boolean)) return base;
  }
  throw new Error("no free range of ports for npm start between 25000 and 31000");
}

describe("npm run show", () => {
  const testRun = inject("testRun");
  const databasePrefix = `${testRun.prefix}_guide`;
  let basePort = 0;
  const env = {
    NODE_ENV: "development",
    POSTGRES_ADMIN_URL: testRun.adminUrl,
    REDIS_URL: testRun.redisUrl,
    DATABASE_PREFIX: databasePrefix,
    START_BASE_PORT: "",
    CONTROL_PLANE_PREFIX: `${testRun.redisPrefix}guide:`,
    LOG_LEVEL: "info",
  };
  let platform: Started | undefined;

  beforeAll(async () => {
    basePort = await freeBasePort();
    env.START_BASE_PORT = String(basePort);
    platform = run(["scripts/start.ts", "--scale", "products=2"], env);
    const deadline = Date.now() + 330_000;
    let exited = false;
    void platform.exited.then(() => (exited = true));
    while (!platform.output().includes("The platform is running.")) {
      if (exited || Date.now() > deadline) throw new Error(`npm start did not come up. Output:\n${platform.output().slice(-20_000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }, 360_000);

  afterAll(async () => {
    if (platform) {
      platform.child.kill("SIGINT");
      await Promise.race([platform.exited, new Promise((r) => setTimeout(r, 30_000))]);
    }
    for (const pid of processesWithEnv(`DATABASE_PREFIX=${databasePrefix}`)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    // The platform's queues are named by its DATABASE_PREFIX, outside the run's Redis prefix.
    await deleteRedisKeys(testRun.redisUrl, `${databasePrefix}:`);
  }, 60_000);

  async function show(pattern: string): Promise<{ code: number | null; output: string }> {
    const s = run(["scripts/show/index.ts", pattern], env);
    const code = await s.exited;
    return { code, output: s.output() };
  }

  it(
    "splitting: lists the subgraphs and their entities, and Postgres refuses orders' role the users database",
    { timeout: 120_000 },
    async () => {
      const { code, output } = await show("splitting");
      expect(code, output).toBe(0);
      expect(output).toMatch(/Product\s+owned by products \(.*\); extended by inventory \(stock, inStock\); referenced by orders, search/);
      expect(output).toMatch(/User\s+owned by users .*extended by .*notifications \(notifications\)/);
      expect(output).toContain(`${databasePrefix}_orders on its own database: SELECT count(*) FROM orders -> `);
      expect(output).toMatch(
        new RegExp(`${databasePrefix}_orders on ${databasePrefix}_users: .* refused by Postgres: 42501 permission denied for database`),
      );
    },
  );

  it(
    "communication: prints the gateway's query plan and follows one event by its correlation id into the consumers' logs",
    { timeout: 120_000 },
    async () => {
      const { code, output } = await show("communication");
      expect(code, output).toBe(0);
      expect(output).toMatch(/Fetch\(users\)/);
      expect(output).toContain("in this order: users -> orders ->");
      expect(output).toMatch(/products outbox: product\.created\.v1 \S+ written at .* for events\.inventory, events\.search/);
      expect(output).toMatch(/events\.inventory: job \S+ completed .* inventory inbox/);
      expect(output).toMatch(/inventory outbox: stock\.changed\.v1/);
      expect(output).toMatch(/search\(".*"\) finds it through search's own read model; stock 5/);
      const correlationId = /x-correlation-id: (show-[0-9a-f]+)/.exec(output)?.[1];
      expect(correlationId).toBeDefined();
      // The consumers log each message with the correlation id of the request that caused it (pretty logs: one
      // field a line, prefixed with the process name).
      for (const worker of ["inventory-worker", "search-worker"]) {
        expect(platform!.output()).toMatch(new RegExp(`^\\[${worker}\\]\\s+correlationId: "${correlationId}"`, "m"));
      }
    },
  );

  it(
    "discovery: a new products instance appears in the registry, takes traffic, leaves, and nothing fails",
    { timeout: 180_000 },
    async () => {
      const { code, output } = await show("discovery");
      expect(code, output).toBe(0);
      expect(output.match(/^\s*[\d.]+s {2}:\d+ stable {2}http:\/\/127\.0\.0\.1:\d+\/graphql/gm)).toHaveLength(2);
      expect(output).toMatch(/appeared in the registry after [\d.]+ s/);
      expect(output).toMatch(/with it: 30 requests -> .*:\d+ stable [1-9]\d*, none failed/);
      expect(output).toMatch(/gone from the registry after \d+ ms/);
      expect(output).toMatch(/after: 30 requests -> .*, none failed/);
    },
  );

  it(
    "config: a 1 ms deadline set live changes the gateway's answers within a second, and the rollback restores them",
    { timeout: 120_000 },
    async () => {
      const { code, output } = await show("config");
      expect(code, output).toBe(0);
      expect(output).toContain("resilience.deadlineMs: (default) -> 1");
      expect(output).toMatch(/\d+ ms after the change: refused: SUBGRAPH_UNAVAILABLE: .*reason "deadline exceeded"/);
      expect(output).toMatch(/restored the document of version \d+ \(resilience\.deadlineMs\)/);
      expect(output).toMatch(/\d+ ms after the rollback: answered: \d+ products/);
    },
  );

  it(
    "gateway: refuses anonymous, customer and forged-token calls, a depth bomb, an alias flood, unsigned and tampered subgraph calls; serves a signed one",
    { timeout: 120_000 },
    async () => {
      const { code, output } = await show("gateway");
      expect(output).toContain("anonymous restock -> HTTP 200 UNAUTHENTICATED");
      expect(output).toContain("alice (CUSTOMER) restock -> HTTP 200 FORBIDDEN");
      expect(output).toContain("a token claiming ADMIN, signed with another key -> HTTP 401 UNAUTHENTICATED");
      expect(output).toMatch(/a depth bomb .* -> HTTP 400 QUERY_TOO_COMPLEX/);
      expect(output).toMatch(/100 aliases of categories -> HTTP 400 QUERY_TOO_COMPLEX/);
      expect(output).toContain('gateway_query_limit_refusals_total{rule="depth"} +1');
      expect(output).toContain(
        "orders called directly, unsigned, with identity headers claiming alice as ADMIN -> HTTP 401 UNAUTHENTICATED (unsigned)",
      );
      expect(output).toMatch(/the same call signed as the gateway for alice -> HTTP 200, alice has \d+ orders/);
      expect(output).toContain("then the body changed to ask for bob's orders -> HTTP 401 UNAUTHENTICATED (bad-signature)");
      expect(code, output).toBe(0);
    },
  );

  it(
    "ratelimit: a burst is refused from the 6th request with 429 and Retry-After, and the bucket refills",
    { timeout: 120_000 },
    async () => {
      const { code, output } = await show("ratelimit");
      expect(code, output).toBe(0);
      expect(output.match(/#\d 200 answered/g)?.length).toBeGreaterThanOrEqual(6);
      expect(output).toMatch(/#6 429 RATE_LIMITED Retry-After: \d+/);
      expect(output).toMatch(/[1-3] request\(s\) passed [\d.]+ s after the refusal, then the bucket was empty again/);
      expect(output).toMatch(/gateway_rate_limit_rejections_total\{rule="show-burst"\} \+[4-9]/);
      expect(output).toContain("rateLimit.rules back to its default");
    },
  );

  it(
    "saga: a declined checkout compensates step by step and gives the stock back; a TCC reservation expires",
    { timeout: 240_000 },
    async () => {
      const { code, output } = await show("saga");
      expect(code, output).toBe(0);
      expect(output).toMatch(/timeline: inventory\s+RESERVED/);
      expect(output).toMatch(/timeline: payment\s+DECLINED/);
      expect(output).toMatch(/timeline: inventory\s+RELEASED/);
      expect(output).toMatch(/timeline: order\s+CANCELLED/);
      expect(output).toMatch(/stock of .*: (\d+) before, \d+ while reserved, \1 after the compensation/);
      expect(output).toMatch(/inventory: reservation EXPIRED [\d.]+ s after it expired/);
    },
  );

  it("canary: about 10% of 200 requests reach the v2 instance, pins are obeyed, the route is put back", { timeout: 180_000 }, async () => {
    const { code, output } = await show("canary");
    expect(code, output).toBe(0);
    const split = /stable (\d+) \([\d.]+%\), v2 (\d+) \(([\d.]+)%\), none failed/.exec(output);
    expect(split, output).not.toBeNull();
    expect(Number(split![1]) + Number(split![2])).toBeGreaterThanOrEqual(200);
    expect(output).toContain("x-canary: always -> stable 0, v2 10");
    expect(output).toContain("x-canary: never -> stable 10, v2 0");
    expect(output).toContain("canary.products back to its default");
  });

  it(
    "breaker: inventory killed, the breaker goes OPEN with partial answers, probes HALF_OPEN, CLOSED once npm start restarted it",
    { timeout: 240_000 },
    async () => {
      const { code, output } = await show("breaker");
      expect(code, output).toBe(0);
      expect(output).toMatch(/killed with SIGKILL/);
      expect(output).toContain("breaker of inventory: CLOSED -> OPEN");
      expect(output).toMatch(/partial: 2 products resolved, product\.stock SUBGRAPH_UNAVAILABLE reason "circuit open" breakerState OPEN/);
      expect(output).toContain("breaker of inventory: OPEN -> HALF_OPEN");
      expect(output).toContain("breaker of inventory: HALF_OPEN -> CLOSED");
      expect(output).toMatch(/inventory restarted, probes passed: complete: 2 products/);
      expect(platform!.output()).toMatch(/\[inventory\] exited unexpectedly/);
    },
  );

  it("an unknown pattern is refused with the list of patterns", { timeout: 60_000 }, async () => {
    const { code, output } = await show("nope");
    expect(code).toBe(2);
    expect(output).toContain('no pattern "nope"');
    expect(output).toMatch(/splitting\s+subgraphs/);
  });
});
