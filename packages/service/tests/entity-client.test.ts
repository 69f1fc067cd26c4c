import { generateMasterKey, memoryNonceStore, pairKeyringFromMaster, serviceKeyring, type Keyring } from "@ecom/auth";
import { parse } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger, createMetrics, runWithRequestContext } from "@ecom/observability";
import { createEntityClient, createSubgraphServer, isEntityClientError, type SubgraphContext, type SubgraphServer } from "@ecom/service";

const MASTER: Keyring = [generateMasterKey("ec")];
// The caller's own K(orders -> things): what a service gets to call another.
const SIGNING = { caller: "orders", target: "things", keys: pairKeyringFromMaster(MASTER, "orders", "things") };
const seen: Array<{ id: string; correlationId: string; identity: unknown }> = [];

const typeDefs = parse(/* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
  type Query {
    ping: String
  }
  type Thing @key(fields: "id") {
    id: ID!
    name: String!
  }
  type Broken @key(fields: "id") {
    id: ID!
  }
`);

let server: SubgraphServer;
let url = "";
beforeAll(async () => {
  server = await createSubgraphServer({
    name: "things",
    typeDefs,
    resolvers: {
      Thing: {
        __resolveReference: async (ref: { id: string }, ctx: SubgraphContext) => {
          seen.push({ id: ref.id, correlationId: ctx.correlationId, identity: ctx.identity });
          if (ref.id === "slow") await new Promise((r) => setTimeout(r, 1000));
          return ref.id === "missing" ? null : { id: ref.id, name: `thing ${ref.id}` };
        },
      },
      Broken: {
        __resolveReference: () => {
          throw new Error("database down");
        },
      },
    },
    logger: createLogger({ service: "things", level: "silent" }),
    metrics: createMetrics({ service: "things", defaultMetrics: false }),
    checks: [],
    signing: { keys: serviceKeyring(MASTER, "things"), nonces: memoryNonceStore() },
    createLoaders: () => ({}),
  });
  url = (await server.listen(0, "127.0.0.1")).url;
});
afterAll(async () => {
  await server.stop();
});

describe("createEntityClient", () => {
  it("fetches entities by id in one call, in order, with null for unknown ones", async () => {
    const fetchEntities = createEntityClient({ url, signing: SIGNING });
    seen.length = 0;
    await expect(fetchEntities("Thing", ["1", "missing", "2"], "id name")).resolves.toEqual([
      { id: "1", name: "thing 1" },
      null,
      { id: "2", name: "thing 2" },
    ]);
    expect(seen.map((s) => s.id)).toEqual(["1", "missing", "2"]);
    expect(seen.every((s) => s.identity === null)).toBe(true);
  });

  it("is refused by the other subgraph when it signs with a key that is not its own", async () => {
    const wrong = { ...SIGNING, keys: pairKeyringFromMaster(MASTER, "orders", "elsewhere") };
    const error = await createEntityClient({ url, signing: wrong })("Thing", ["1"], "id").catch((e: unknown) => e);
    expect(isEntityClientError(error)).toBe(true);
    expect((error as Error).message).toMatch(/HTTP 401.*signature does not match/);
  });

  it("makes no call for no ids", async () => {
    seen.length = 0;
    await expect(createEntityClient({ url, signing: SIGNING })("Thing", [], "id")).resolves.toEqual([]);
    expect(seen).toEqual([]);
  });

  it("forwards the current correlation id", async () => {
    seen.length = 0;
    await runWithRequestContext({ requestId: "req-1", correlationId: "corr-entity-1" }, () =>
      createEntityClient({ url, signing: SIGNING })("Thing", ["9"], "id"),
    );
    expect(seen[0]!.correlationId).toBe("corr-entity-1");
  });

  it("throws an EntityClientError when the other subgraph answers with errors", async () => {
    const error = await createEntityClient({ url, signing: SIGNING })("Broken", ["1"], "id").catch((e: unknown) => e);
    expect(isEntityClientError(error)).toBe(true);
    expect((error as Error).message).toMatch(/^Broken lookup failed \(HTTP 200\): Internal server error\./);
    expect((error as { subgraphUrl: string }).subgraphUrl).toBe(url);
  });

  it("throws an EntityClientError when the other subgraph is unreachable or too slow", async () => {
    const closed = url.replace(/:\d+\//, ":1/");
    const unreachable = await createEntityClient({ url: closed, signing: SIGNING })("Thing", ["1"], "id").catch((e: unknown) => e);
    expect(isEntityClientError(unreachable)).toBe(true);
    const slow = await createEntityClient({ url, signing: SIGNING, timeoutMs: 100 })("Thing", ["slow"], "id").catch((e: unknown) => e);
    expect(isEntityClientError(slow)).toBe(true);
    expect((slow as Error).message).toMatch(/Thing lookup failed/);
  });
});
