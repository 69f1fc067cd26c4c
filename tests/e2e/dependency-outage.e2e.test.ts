/**
 * A database outage under load, with real processes: the users subgraph on a private Postgres cluster of this test
 * (never the machine's shared one), the gateway in front, clients registering and reading through the gateway.
 * Postgres is stopped and started again while they run:
 * - while it is down, the subgraph answers HTTP 503 with Retry-After and SUBGRAPH_UNAVAILABLE (no driver text), and
 *   clients get SUBGRAPH_UNAVAILABLE naming users through the gateway; nothing else, and no crash;
 * - once it is back, the same processes serve again (no restart);
 * - every acknowledged registration is in the database, and no refused one left a row.
 */
import path from "node:path";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { identityToHeaders } from "@ecom/auth";
import { SUBGRAPH_NAMES, subgraphUrlVariable } from "@ecom/config";
import { bootstrapDatabases, databaseUrlFor, discoverServiceDatabases, parsePgUrl, withPgClient } from "@ecom/db";
import { getFreePort, ROOT_DIR, startPrivatePostgres, startProcess, type PrivatePostgres, type RunningProcess } from "@ecom/testing";

const TSX = path.join(ROOT_DIR, "node_modules", ".bin", "tsx");
const INTERNAL_SECRET = "outage-e2e-internal-secret-0123456789";

interface Answer {
  status: number;
  headers: Headers;
  body: { data?: Record<string, unknown> | null; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
}

async function post(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Answer["body"] };
}

async function until(
  what: string,
  predicate: () => boolean | Promise<boolean>,
  diagnostics: () => string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${diagnostics()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const REGISTER = "mutation ($input: RegisterInput!) { register(input: $input) { token user { id email } } }";

describe("Postgres outage under load", () => {
  let pg: PrivatePostgres;
  let users: RunningProcess;
  let gateway: RunningProcess;
  let databaseUrl: string;
  let usersUrl: string;
  let gatewayUrl: string;

  beforeAll(async () => {
    pg = await startPrivatePostgres();
    const service = discoverServiceDatabases(ROOT_DIR).filter((s) => s.name === "users");
    databaseUrl = databaseUrlFor("users", { prefix: "ecom_outage", host: "127.0.0.1", port: pg.port });
    await bootstrapDatabases({ adminUrl: pg.adminUrl, services: service, urlFor: () => databaseUrl });

    const [usersPort, gatewayPort] = [await getFreePort(), await getFreePort()];
    const usersOrigin = `http://127.0.0.1:${usersPort}`;
    usersUrl = `${usersOrigin}/graphql`;
    users = await startProcess({
      name: "users",
      command: TSX,
      args: ["subgraphs/users/src/index.ts"],
      cwd: ROOT_DIR,
      env: { NODE_ENV: "test", LOG_LEVEL: "info", HOST: "127.0.0.1", PORT: String(usersPort), DATABASE_URL: databaseUrl, INTERNAL_SECRET },
      readyUrl: `${usersOrigin}/health/ready`,
    });
    const unreachable: Record<string, string> = {};
    for (const name of SUBGRAPH_NAMES.filter((n) => n !== "users"))
      unreachable[subgraphUrlVariable(name)] = `http://127.0.0.1:${await getFreePort()}/graphql`;
    gateway = await startProcess({
      name: "gateway",
      command: TSX,
      args: ["gateway/src/index.ts"],
      cwd: ROOT_DIR,
      env: {
        NODE_ENV: "test",
        LOG_LEVEL: "warn",
        HOST: "127.0.0.1",
        PORT: String(gatewayPort),
        INTERNAL_SECRET,
        SUBGRAPH_USERS_URL: usersUrl,
        JWKS_URL: `${usersOrigin}/.well-known/jwks.json`,
        SUBGRAPH_TIMEOUT: "20s",
        SUPERGRAPH_WATCH: "false",
        ...unreachable,
      },
      readyUrl: `http://127.0.0.1:${gatewayPort}/health/live`,
    });
    gatewayUrl = `http://127.0.0.1:${gatewayPort}/graphql`;
  });

  afterAll(async () => {
    await gateway?.stop();
    await users?.stop();
    await pg?.dispose();
  });

  it("answers coded retryable errors while Postgres is down, recovers when it is back, and loses or half-writes nothing", async () => {
    const acknowledged: string[] = [];
    const refused: string[] = [];
    const unexpected: string[] = [];
    let reads = { ok: 0, refused: 0 };
    let phase: "before" | "down" | "after" = "before";
    const afterRecovery = { registered: 0, reads: 0 };
    const tokens: string[] = [];

    const isRefusal = (a: Answer) =>
      a.status === 200 &&
      (a.body.errors ?? []).length > 0 &&
      a.body.errors!.every((e) => e.extensions?.["code"] === "SUBGRAPH_UNAVAILABLE" && e.extensions?.["serviceName"] === "users");

    let loading = true;
    const writer = async () => {
      while (loading) {
        const email = `outage-${randomUUID()}@example.com`;
        try {
          const a = await post(gatewayUrl, REGISTER, { input: { email, password: "password123", name: "Outage" } });
          const registered = (a.body.data?.["register"] as { token: string; user: { email: string } } | undefined) ?? undefined;
          if (a.status === 200 && !a.body.errors && registered?.user.email === email) {
            acknowledged.push(email);
            tokens.push(registered.token);
            if (phase === "after") afterRecovery.registered += 1;
          } else if (isRefusal(a)) {
            refused.push(email);
            await new Promise((r) => setTimeout(r, 20));
          } else unexpected.push(`register: ${a.status} ${JSON.stringify(a.body)}`);
        } catch (error) {
          unexpected.push(`register: ${String(error)}`);
        }
      }
    };
    const reader = async () => {
      while (loading) {
        const token = tokens[Math.floor(Math.random() * tokens.length)];
        if (!token) {
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        try {
          const a = await post(gatewayUrl, "{ me { id email } }", undefined, { authorization: `Bearer ${token}` });
          if (a.status === 200 && !a.body.errors && (a.body.data?.["me"] as { id?: string } | null)?.id) {
            reads = { ...reads, ok: reads.ok + 1 };
            if (phase === "after") afterRecovery.reads += 1;
          } else if (isRefusal(a)) {
            reads = { ...reads, refused: reads.refused + 1 };
            await new Promise((r) => setTimeout(r, 20));
          } else unexpected.push(`me: ${a.status} ${JSON.stringify(a.body)}`);
        } catch (error) {
          unexpected.push(`me: ${String(error)}`);
        }
      }
    };
    const clients = [writer(), writer(), reader(), reader()];
    const diagnostics = () =>
      `acknowledged ${acknowledged.length}, refused ${refused.length}, reads ${JSON.stringify(reads)}, unexpected ${unexpected.slice(0, 3).join("\n")}\n` +
      `users output:\n${users.output().slice(-3000)}`;

    try {
      await until("registrations and reads before the outage", () => acknowledged.length >= 8 && reads.ok >= 8, diagnostics);

      await pg.stop();
      phase = "down";
      const refusedBefore = refused.length;
      await until("refusals while Postgres is down", () => refused.length >= refusedBefore + 10 && reads.refused >= 10, diagnostics);

      // The subgraph itself: 503 with Retry-After and a coded, retryable error that names no driver internals.
      const direct = await post(
        usersUrl,
        "{ me { id } }",
        undefined,
        identityToHeaders({ userId: randomUUID(), role: "CUSTOMER" }, INTERNAL_SECRET),
      );
      expect(direct.status).toBe(503);
      expect(direct.headers.get("retry-after")).toBe("1");
      expect(direct.body.errors).toEqual([
        {
          message: "The users service is unavailable right now (postgres): try again later.",
          path: ["me"],
          locations: expect.any(Array),
          extensions: { code: "SUBGRAPH_UNAVAILABLE", serviceName: "users", dependency: "postgres", retryable: true },
        },
      ]);
      expect(JSON.stringify(direct.body)).not.toMatch(/reach database|prisma|ECONNREFUSED/i);
      expect((await fetch(new URL("/health/ready", usersUrl))).status).toBe(503);
      const metrics = await (await fetch(new URL("/metrics", usersUrl))).text();
      expect(metrics).toMatch(/^subgraph_dependency_unavailable_total\{dependency="postgres"[^}]*\} [1-9]\d*$/m);

      await pg.start();
      phase = "after";
      await until("full recovery", () => afterRecovery.registered >= 8 && afterRecovery.reads >= 8, diagnostics);
      expect((await fetch(new URL("/health/ready", usersUrl))).status).toBe(200);
    } finally {
      loading = false;
      await Promise.all(clients);
    }

    expect(unexpected).toEqual([]);
    expect(refused.length).toBeGreaterThanOrEqual(10);
    // Same processes throughout: recovery needed no restart.
    expect(users.child.exitCode).toBeNull();
    expect(gateway.child.exitCode).toBeNull();
    expect(users.output()).toContain("postgres unavailable: answering 503");

    const rows = await withPgClient(
      parsePgUrl(databaseUrl),
      async (c) => (await c.query<{ email: string }>("SELECT email FROM users")).rows,
    );
    const stored = new Set(rows.map((r) => r.email));
    expect(
      acknowledged.filter((email) => !stored.has(email)),
      "acknowledged but lost",
    ).toEqual([]);
    expect(
      refused.filter((email) => stored.has(email)),
      "refused but written",
    ).toEqual([]);
    expect(stored.size).toBe(acknowledged.length);
  }, 150_000);
});
