/**
 * Rate limiting with real processes: the users subgraph (logins are real), two gateways sharing Redis (A and B,
 * trusting X-Forwarded-For from loopback so each test can be many clients), and a third gateway (C) on a private
 * redis-server of its own, stopped during the Redis-down test, that trusts no proxy. One start for the file; each
 * test uses rules and client addresses of its own.
 *
 * RATE_LIMIT_E2E_REQUESTS sets the load of the ±1% test (default 1500 requests per algorithm, limit 1000).
 */
import { randomBytes } from "node:crypto";
import { createLiveConfigStore, platformConfigSchema } from "@ecom/live-config";
import { DEFAULT_RATE_LIMIT_RULES, type RateLimitRuleInput } from "@ecom/ratelimit";
import { DEMO_PASSWORD } from "@ecom/demo-data";
import {
  createTestDatabase,
  runSeed,
  startPrivateRedis,
  startService,
  waitFor,
  type PrivateRedis,
  type RunningProcess,
  type RunningService,
  type TestDatabase,
} from "@ecom/testing";
import { Redis } from "ioredis";
import { parseList } from "structured-headers";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { runConfig } from "./config-cli.ts";

const run = inject("testRun");
const prefix = `${run.redisPrefix}e2e-rl-${randomBytes(3).toString("hex")}:`;
const LOAD = Number(process.env["RATE_LIMIT_E2E_REQUESTS"] ?? 1500);

/** Rules of one operation name, counted across every client (key: the operation). */
const perOperation = (id: string, operation: string, extra: Partial<RateLimitRuleInput> & object): RateLimitRuleInput =>
  ({ id, key: ["operation"], match: { operations: [operation] }, ...extra }) as RateLimitRuleInput;

const SHARED_RULES: RateLimitRuleInput[] = [
  ...DEFAULT_RATE_LIMIT_RULES,
  { id: "headers", algorithm: "sliding-window", key: ["ip"], match: { operations: ["Headers"] }, limit: 3, window: "1m" },
  perOperation("load-sw", "LoadSw", { algorithm: "sliding-window", limit: 1000, window: "10m" }),
  perOperation("load-tb", "LoadTb", { algorithm: "token-bucket", limit: 1000, refill: { tokens: 1, every: "1h" } }),
];
const OWN_RULES: RateLimitRuleInput[] = [
  { id: "xff", algorithm: "sliding-window", key: ["ip"], match: { operations: ["Spoof"] }, limit: 2, window: "10m" },
  perOperation("down", "Down", { algorithm: "sliding-window", limit: 3, window: "10m" }),
];

const started: RunningProcess[] = [];
let db: TestDatabase;
let redis: Redis;
let privateRedis: PrivateRedis;
let users: string;
let a: RunningService;
let b: RunningService;
let c: RunningService;

const until = <T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 15_000) =>
  waitFor(what, probe, { timeoutMs, intervalMs: 10 });

function startGateway(name: string, env: Record<string, string>): Promise<RunningService> {
  return startService("gateway", {
    name,
    env: {
      JWKS_URL: `${users}/.well-known/jwks.json`,
      SUBGRAPH_USERS_URL: `${users}/graphql`,
      SUPERGRAPH_WATCH: "false",
      SUBGRAPH_TIMEOUT: "20s",
      ...env,
    },
    onSpawn: (p) => started.push(p),
  });
}

interface Answer {
  status: number;
  headers: Headers;
  body: { data?: Record<string, unknown> | null; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
}

async function post(gateway: string, query: string, options: { ip?: string; variables?: Record<string, unknown> } = {}): Promise<Answer> {
  const res = await fetch(`${gateway}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(options.ip ? { "x-forwarded-for": options.ip } : {}) },
    body: JSON.stringify({ query, variables: options.variables ?? {} }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Answer["body"] };
}

/** The members of a RateLimit-Policy or RateLimit field, by policy name. */
function members(field: string | null): Record<string, Record<string, unknown>> {
  if (!field) return {};
  return Object.fromEntries(parseList(field).map(([name, params]) => [String(name), Object.fromEntries(params)]));
}

let ipSeq = 0;
/** A client address of its own (TEST-NET-3 and friends), one per call. */
const nextIp = () => `198.18.${Math.floor(++ipSeq / 250)}.${(ipSeq % 250) + 1}`;

async function metric(origin: string, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${origin}/metrics`)).text();
  let total = 0;
  for (const m of text.matchAll(pattern)) total += Number(m[1]);
  return total;
}
/** Requests the users subgraph served at /graphql (its own metrics). */
const usersServed = () => metric(users, /^http_request_duration_seconds_count\{[^}]*route="\/graphql"[^}]*\} (\d+)$/gm);

beforeAll(async () => {
  redis = new Redis(run.redisUrl, { maxRetriesPerRequest: 1 });
  db = await createTestDatabase(run, "users");
  await runSeed("users", db.url, { onSpawn: (p) => started.push(p) });
  const usersProc = await startService("users", { env: { DATABASE_URL: db.url }, onSpawn: (p) => started.push(p) });
  users = usersProc.origin;
  privateRedis = await startPrivateRedis();
  const shared = {
    REDIS_URL: run.redisUrl,
    CONTROL_PLANE_PREFIX: prefix,
    TRUST_PROXY: "loopback",
    RATE_LIMIT_RULES: JSON.stringify(SHARED_RULES),
    // The query limits would refuse 100 aliased root fields first (QUERY_TOO_COMPLEX): raised here so that the
    // brute-force test shows the rate limit alone counting every alias.
    QUERY_MAX_ALIASES: "200",
    QUERY_MAX_ROOT_FIELDS: "200",
    QUERY_MAX_TOKENS: "10000",
  };
  [a, b, c] = await Promise.all([
    startGateway("gateway A", shared),
    startGateway("gateway B", shared),
    startGateway("gateway C", {
      REDIS_URL: privateRedis.url,
      CONTROL_PLANE_PREFIX: prefix,
      LIVE_CONFIG: "false",
      RATE_LIMIT_RULES: JSON.stringify(OWN_RULES),
    }),
  ]);
});

afterAll(async () => {
  await Promise.allSettled(started.map((p) => p.stop(3000)));
  redis?.disconnect();
  await privateRedis?.dispose();
  await db?.drop();
});

describe("rate limiting across two gateways sharing Redis", () => {
  it("answers a refused operation 429 RATE_LIMITED with Retry-After, and every counted answer with RateLimit-Policy and RateLimit", async () => {
    const ip = nextIp();
    const answers: Answer[] = [];
    for (const gateway of [a, b, a]) answers.push(await post(gateway.origin, "query Headers { __typename }", { ip }));
    for (const [i, answer] of answers.entries()) {
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ data: { __typename: "Query" } });
      expect(members(answer.headers.get("ratelimit-policy"))).toMatchObject({ headers: { q: 3, w: 60 }, ip: { q: 1000, w: 2 } });
      const left = members(answer.headers.get("ratelimit"))["headers"]!;
      expect(left["r"]).toBe(2 - i);
      expect(left["t"]).toBeGreaterThan(0);
      expect(left["t"]).toBeLessThanOrEqual(60);
      expect(answer.headers.get("retry-after")).toBeNull();
    }

    // The fourth, on the other gateway: the count is shared.
    const refused = await post(b.origin, "query Headers { __typename }", { ip });
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.body.data).toBeUndefined();
    expect(refused.body.errors).toEqual([
      {
        message: `Too many requests: rule "headers" allows 3 per 60 s. Retry after ${retryAfter} s.`,
        extensions: { code: "RATE_LIMITED", rule: "headers", limit: 3, windowSeconds: 60, retryAfter },
      },
    ]);
    expect(members(refused.headers.get("ratelimit"))["headers"]).toMatchObject({ r: 0 });
    // Another client is not affected.
    expect((await post(b.origin, "query Headers { __typename }", { ip: nextIp() })).status).toBe(200);
    expect(await metric(b.origin, /^gateway_rate_limit_rejections_total\{[^}]*rule="headers"[^}]*\} (\d+)$/gm)).toBe(1);
  });

  it.each([
    { algorithm: "sliding window", operation: "LoadSw" },
    { algorithm: "token bucket", operation: "LoadTb" },
  ])("admits within one percent of one limit under concurrent load on both gateways ($algorithm)", async ({ operation }) => {
    const statuses = new Map<number, number>();
    let next = 0;
    const worker = async (gateway: string) => {
      while (next < LOAD) {
        next++;
        const answer = await post(gateway, `query ${operation} { __typename }`, { ip: nextIp() });
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 24 }, (_, i) => worker(i % 2 === 0 ? a.origin : b.origin)));
    const admitted = statuses.get(200) ?? 0;
    expect([...statuses.keys()].sort()).toEqual([200, 429]);
    expect(admitted + (statuses.get(429) ?? 0)).toBe(LOAD);
    expect(Math.abs(admitted - 1000)).toBeLessThanOrEqual(10);
  });

  it("stops login brute force: 100 aliased guesses in one request, guesses from one address, and guesses at one account from many", async () => {
    const loginOf = (alias: string, email: string, password: string) =>
      `${alias}: login(email: "${email}", password: "${password}") { token }`;

    // 100 guesses in one document count 100 against login-ip (20 a minute): refused whole, users never asked.
    const servedBefore = await usersServed();
    const aliased = Array.from({ length: 100 }, (_, i) => loginOf(`g${i}`, "alice@example.com", `guess-${i}`)).join("\n");
    const bomb = await post(a.origin, `mutation Guess { ${aliased} }`, { ip: nextIp() });
    expect(bomb.status).toBe(429);
    expect(bomb.body.errors?.[0]?.extensions).toMatchObject({ code: "RATE_LIMITED", rule: "login-ip", retryAfter: 60 });
    expect(await usersServed()).toBe(servedBefore);

    // One address: 20 wrong guesses at 20 accounts are answered (UNAUTHENTICATED), the 21st is refused.
    const guesser = nextIp();
    for (let i = 0; i < 20; i++) {
      const answer = await post(i % 2 ? a.origin : b.origin, `mutation { ${loginOf("l", `nobody${i}@example.com`, "wrong-password")} }`, {
        ip: guesser,
      });
      expect(answer.body.errors?.[0]?.extensions?.["code"]).toBe("UNAUTHENTICATED");
    }
    const twentyFirst = await post(a.origin, `mutation { ${loginOf("l", "nobody-else@example.com", "wrong-password")} }`, { ip: guesser });
    expect(twentyFirst.status).toBe(429);
    expect(twentyFirst.body.errors?.[0]?.extensions).toMatchObject({ code: "RATE_LIMITED", rule: "login-ip" });

    // One account from many addresses: 10 wrong guesses at bob, then bob is refused even with his password, from a
    // fresh address, while alice still signs in from that address.
    for (let i = 0; i < 10; i++) {
      const answer = await post(i % 2 ? a.origin : b.origin, `mutation { ${loginOf("l", "bob@example.com", `wrong-${i}`)} }`, {
        ip: nextIp(),
      });
      expect(answer.body.errors?.[0]?.extensions?.["code"]).toBe("UNAUTHENTICATED");
    }
    const fresh = nextIp();
    const bob = await post(b.origin, `mutation { ${loginOf("l", "BOB@example.com", DEMO_PASSWORD)} }`, { ip: fresh });
    expect(bob.status).toBe(429);
    expect(bob.body.errors?.[0]?.extensions).toMatchObject({ code: "RATE_LIMITED", rule: "login-email" });
    const alice = await post(a.origin, `mutation { ${loginOf("l", "alice@example.com", DEMO_PASSWORD)} }`, { ip: fresh });
    expect(alice.status).toBe(200);
    expect((alice.body.data?.["l"] as { token?: string } | undefined)?.token).toEqual(expect.any(String));
  });

  it("applies a rule changed with the config CLI in both gateways within a second, and refuses an invalid one changing nothing", async () => {
    const store = createLiveConfigStore({ redis, prefix, schema: platformConfigSchema });
    const cli = (...argv: string[]) => runConfig(redis, prefix, argv);
    const quotaIn = async (gateway: string, ip: string) =>
      members((await post(gateway, "query Live { __typename }", { ip })).headers.get("ratelimit-policy"))["live"]?.["q"];
    const ip = nextIp();
    expect(await quotaIn(a.origin, ip)).toBeUndefined();

    const rulesWith = (limit: number) =>
      JSON.stringify([...SHARED_RULES, perOperation("live", "Live", { algorithm: "sliding-window", limit, window: "1m" })]);
    for (const limit of [2, 50]) {
      const set = await cli("set", "rateLimit.rules", rulesWith(limit), "-m", `live rule at ${limit}`);
      expect(set.code, set.err).toBe(0);
      const seen = await Promise.all(
        [a, b].map((g) =>
          until(async () => ((await quotaIn(g.origin, nextIp())) === limit ? true : undefined), `${g.name} to apply q=${limit}`),
        ),
      );
      for (const { ms } of seen) expect(ms).toBeLessThan(1000);
    }
    // In force, not only announced: the 51st in a minute is refused, on either gateway.
    const statuses: number[] = [];
    for (let i = 0; i < 51; i++) statuses.push((await post(i % 2 ? a.origin : b.origin, "query Live { __typename }", { ip })).status);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(1);

    const before = (await store.current()).version;
    const refused = await cli(
      "set",
      "rateLimit.rules",
      '[{"id":"bad","algorithm":"sliding-window","key":["ip"],"limit":0,"window":"1 minute"}]',
    );
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(
      /^Refused: rateLimit\.rules\.0\.limit: Too small: expected number to be >=1; rateLimit\.rules\.0\.window: must be a duration/,
    );
    expect(refused.err).toContain(`Nothing was changed (still version ${before})`);
    expect((await store.current()).version).toBe(before);
    for (const g of [a, b]) expect(await quotaIn(g.origin, nextIp())).toBe(50);

    // Unset: back to the gateways' own rules (RATE_LIMIT_RULES), which have no "live" rule.
    expect((await cli("unset", "rateLimit.rules")).code).toBe(0);
    const gone = await Promise.all(
      [a, b].map((g) => until(async () => ((await quotaIn(g.origin, nextIp())) === undefined ? true : undefined), `${g.name} to drop it`)),
    );
    for (const { ms } of gone) expect(ms).toBeLessThan(1000);
    expect(
      members((await post(a.origin, "query Headers { __typename }", { ip: nextIp() })).headers.get("ratelimit-policy")),
    ).toHaveProperty("headers");
  });
});

describe("a gateway of its own", () => {
  it("ignores X-Forwarded-For unless TRUST_PROXY trusts the proxy", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await post(c.origin, "query Spoof { __typename }", { ip: nextIp() })).status);
    expect(statuses).toEqual([200, 200, 429]);
  });

  it("decides with its own counters while its Redis is down (local policy), logs and counts it, and shares again once Redis is back", async () => {
    const fallbacks = () => metric(c.origin, /^gateway_rate_limit_fallbacks_total\{[^}]*policy="local"[^}]*\} (\d+)$/gm);
    expect((await post(c.origin, "query Down { __typename }")).status).toBe(200);
    expect(await fallbacks()).toBe(0);

    await privateRedis.stop();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await post(c.origin, "query Down { __typename }")).status);
    // This instance's own count of the rule (3 in 10 minutes), from zero.
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(await fallbacks()).toBe(5);
    await until(
      async () =>
        c.output().includes("rate limiting: Redis cannot answer; deciding with this instance's own counters until it is back")
          ? true
          : undefined,
      "the outage's log line",
    );

    await privateRedis.start();
    // Back on Redis (restarted empty): decisions stop falling back, and the shared count starts afresh.
    await until(async () => {
      const before = await fallbacks();
      const answer = await post(c.origin, "query Down { __typename }");
      return answer.status === 200 && (await fallbacks()) === before ? true : undefined;
    }, "decisions made with Redis again");
    // The log line can trail the answer through the pipe.
    await until(
      async () => (c.output().includes("rate limiting: Redis answers again, counters are shared again") ? true : undefined),
      "the recovery's log line",
    );
  });
});
