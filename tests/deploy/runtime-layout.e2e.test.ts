/**
 * Containers that really work, without a Docker engine: each deployable is built and laid out exactly as the
 * Dockerfile does it (scripts/build-service.ts, then scripts/runtime-layout.ts into what becomes the image's
 * /app), in a folder outside the repository so Node cannot fall back to the monorepo's node_modules, and started
 * from there with NODE_ENV=production, as the image's CMD starts it.
 */
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { formatKeyring, generateMasterKey, pairKeyringFromMaster, serviceKeyring, type Keyring } from "@ecom/auth";
import { createTestDatabase, signedHeaders, startProcess, type RunningProcess, type TestDatabase } from "@ecom/testing";
import { buildService } from "../../scripts/build-service.ts";
import { deployTargets } from "../../scripts/deploy-spec.ts";
import { ROOT, runtimeLayout, type RuntimeLayout } from "../../scripts/runtime-layout.ts";

// Production mode refuses the development signing keys: a master of the test's own, and what each process gets.
const MASTER: Keyring = [generateMasterKey("layout")];
const JWT_PRIVATE_KEY = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
/** Tools and test helpers: never in an image. */
const DEV_ONLY = ["typescript", "vitest", "vite", "tsx", "esbuild", "prisma", "@vercel/nft", "@graphql-codegen/cli", "eslint"];

/** A query each subgraph answers from its database through Prisma (the others prove their schema and pool). */
const DATABASE_QUERY: Record<string, { query: string; expect: (data: Record<string, unknown>) => void }> = {
  products: { query: "{ products(first: 1) { totalCount } }", expect: (d) => expect(d).toEqual({ products: { totalCount: 0 } }) },
  search: { query: '{ search(query: "lamp") { totalCount } }', expect: (d) => expect(d).toEqual({ search: { totalCount: 0 } }) },
};

const tmp = mkdtempSync(path.join(os.tmpdir(), "runtime-layout-"));
const processes: RunningProcess[] = [];
const databases: TestDatabase[] = [];
const traceCache = {};
afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop(3000)));
  for (const db of databases) await db[Symbol.asyncDispose]();
  rmSync(tmp, { recursive: true, force: true });
});

async function readyOrigin(proc: RunningProcess, message: string): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const line = proc
      .output()
      .split("\n")
      .find((l) => l.includes(`"msg":"${message}"`));
    if (line) return new URL((JSON.parse(line) as { url: string }).url).origin;
    if (proc.child.exitCode !== null || Date.now() > deadline) throw new Error(`${proc.name} did not start:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** POSTs to `/graphql`; to a subgraph (`target`), signed as the gateway signs. */
const post = async (origin: string, query: string, target?: string) => {
  const url = new URL("/graphql", origin);
  const body = JSON.stringify({ query });
  const signature = target ? signedHeaders(target, null, { master: MASTER })(body, url) : {};
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "apollo-require-preflight": "true", ...signature },
    body,
  });
  return { status: res.status, body: (await res.json()) as { data?: Record<string, unknown>; errors?: unknown[] } };
};

async function layout(workspace: string): Promise<RuntimeLayout> {
  await buildService({ workspace });
  const result = await runtimeLayout(workspace, path.join(tmp, workspace.replace("/", "-")), { cache: traceCache });
  expect(path.relative(ROOT, result.dir).startsWith("..")).toBe(true);
  return result;
}

const names = (l: RuntimeLayout) => l.packages.map((p) => p.slice(0, p.lastIndexOf("@")));

describe("each deployable started from its runtime layout (what the image holds)", () => {
  for (const target of deployTargets().filter((t) => t.kind === "subgraph")) {
    it(`${target.name} starts in production mode, is ready, and holds only its own production dependencies`, async () => {
      const built = await layout(target.workspace);
      expect(names(built)).toEqual(expect.arrayContaining(["graphql", "@apollo/server", "@prisma/client", "pg"]));
      for (const dev of [...DEV_ONLY, "@apollo/gateway"]) expect(names(built), dev).not.toContain(dev);
      expect(readdirSync(built.workdir).sort()).toEqual(["dist", "package.json"]);

      const db = await createTestDatabase(inject("testRun"), target.service);
      databases.push(db);
      const proc = await startProcess({
        name: `${target.name} (runtime layout)`,
        command: process.execPath,
        args: target.command.slice(1),
        cwd: built.workdir,
        env: {
          ...target.env,
          NODE_OPTIONS: undefined,
          HOST: "127.0.0.1",
          PORT: "0",
          SIGNING_KEYS: formatKeyring(serviceKeyring(MASTER, target.service)),
          ...(target.name === "orders"
            ? { PRODUCTS_SIGNING_KEYS: formatKeyring(pairKeyringFromMaster(MASTER, "orders", "products")) }
            : {}),
          DATABASE_URL: db.url,
          ...(target.secrets.some((s) => s.variable === "JWT_PRIVATE_KEY") ? { JWT_PRIVATE_KEY } : {}),
        },
      });
      processes.push(proc);
      const origin = await readyOrigin(proc, `${target.name} subgraph ready`);
      expect((await fetch(`${origin}/health/ready`)).status).toBe(200);
      const sdl = await post(origin, "{ _service { sdl } }", target.service);
      expect(sdl.status).toBe(200);
      expect(JSON.stringify(sdl.body.data)).toContain("@key");
      const check = DATABASE_QUERY[target.name];
      if (check) {
        const { status, body } = await post(origin, check.query, target.service);
        expect(body.errors).toBeUndefined();
        expect(status).toBe(200);
        check.expect(body.data!);
      }
      expect(await proc.stop(10_000)).toBe(0);
    }, 120_000);
  }

  it("the gateway starts from its layout with the supergraph the image carries (no SUPERGRAPH_PATH)", async () => {
    const gateway = deployTargets().find((t) => t.kind === "gateway")!;
    const built = await layout(gateway.workspace);
    expect(readdirSync(built.workdir).sort()).toEqual(["dist", "package.json", "supergraph.graphql"]);
    expect(names(built)).toEqual(expect.arrayContaining(["@apollo/gateway", "@apollo/server", "graphql"]));
    for (const dev of [...DEV_ONLY, "@prisma/client", "pg"]) expect(names(built), dev).not.toContain(dev);

    const proc = await startProcess({
      name: "gateway (runtime layout)",
      command: process.execPath,
      args: gateway.command.slice(1),
      cwd: built.workdir,
      env: {
        ...gateway.env,
        NODE_OPTIONS: undefined,
        SUPERGRAPH_PATH: undefined,
        HOST: "127.0.0.1",
        PORT: "0",
        SIGNING_KEYS: formatKeyring(MASTER),
      },
    });
    processes.push(proc);
    const origin = await readyOrigin(proc, "gateway ready");
    expect(proc.output()).toContain('"users":"http://users:4001/graphql"');
    expect((await fetch(`${origin}/health/live`)).status).toBe(200);
    const { status, body } = await post(origin, "{ __typename }");
    expect(status).toBe(200);
    expect(body.data).toEqual({ __typename: "Query" });
    expect(await proc.stop(10_000)).toBe(0);
  }, 120_000);
});
