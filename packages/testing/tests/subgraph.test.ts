import { createSubgraphServer, type SubgraphContext } from "@ecom/service";
import { parse } from "graphql";
import { describe, expect, it } from "vitest";
import { memoryNonceStore, serviceKeyring, type Keyring } from "@ecom/auth";
import { buildWithDatabase, codesOf, signedHeaders, startSubgraphForTest, TEST_SIGNING_KEYS, testIdentities } from "@ecom/testing";

const typeDefs = parse(/* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Query {
    me: String
    touch: Int!
  }
`);

describe("startSubgraphForTest", () => {
  it("serves the built subgraph with the test signing keys, records statements, and closes after the server stopped", async () => {
    const events: string[] = [];
    let keys: Keyring | undefined;
    const running = await startSubgraphForTest({
      service: "fixture",
      databaseUrl: "postgres://fixture@127.0.0.1/fixture",
      build: async ({ databaseUrl, onQuery, deps }) => {
        keys = deps.env.SIGNING_KEYS;
        const server = await createSubgraphServer({
          name: "fixture",
          typeDefs,
          resolvers: {
            Query: {
              me: (_parent: unknown, _args: unknown, ctx: SubgraphContext) =>
                ctx.identity ? `${ctx.identity.role} ${ctx.identity.userId}` : null,
              touch: () => {
                onQuery(`SELECT 1 -- ${databaseUrl}`);
                return 1;
              },
            },
          },
          logger: deps.logger,
          metrics: deps.metrics,
          checks: [],
          signing: { keys: deps.env.SIGNING_KEYS, nonces: memoryNonceStore() },
          createLoaders: () => ({}),
          onStop: async () => void events.push("server stopped"),
        });
        return { server, close: async () => void events.push("closed") };
      },
    });
    expect(keys).toEqual(serviceKeyring(TEST_SIGNING_KEYS, "fixture"));
    expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/graphql$/);

    expect(await running.gql("{ me }")).toEqual({ data: { me: null } });
    expect(await running.gql("{ me }", {}, testIdentities.admin)).toEqual({ data: { me: `ADMIN ${testIdentities.admin.userId}` } });

    await running.gql("{ touch }");
    expect(running.statements).toEqual(["SELECT 1 -- postgres://fixture@127.0.0.1/fixture"]);
    running.resetStatements();
    expect(running.statements).toEqual([]);

    expect(codesOf(await running.gql("{ nope }"))).toEqual(["GRAPHQL_VALIDATION_FAILED"]);
    // gql signs each request; one unsigned (or signed for another subgraph) is refused.
    const unsigned = await fetch(running.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"query":"{ me }"}',
    });
    expect(unsigned.status).toBe(401);
    const body = '{"query":"{ me }"}';
    const misdirected = await fetch(running.url, { method: "POST", headers: signedHeaders("other")(body, new URL(running.url)), body });
    expect(misdirected.status).toBe(401);

    await running[Symbol.asyncDispose]();
    await running.stop();
    expect(events).toEqual(["server stopped", "closed"]);
  });

  it("builds the usual way with buildWithDatabase: the database on the test URL (statements recorded), the server over it", async () => {
    const events: string[] = [];
    const createDatabase = (url: string, options: { max?: number; onQuery?: (sql: string) => void }) => ({
      url,
      max: options.max,
      query: (text: string) => options.onQuery?.(text),
      close: async () => void events.push("database closed"),
    });
    type Db = ReturnType<typeof createDatabase>;
    let used: Db | undefined;
    const running = await startSubgraphForTest({
      service: "fixture",
      databaseUrl: "postgres://fixture@127.0.0.1/fixture",
      build: buildWithDatabase(
        createDatabase,
        async ({ env, logger, metrics, db }) => {
          used = db;
          return createSubgraphServer({
            name: "fixture",
            typeDefs,
            resolvers: { Query: { me: () => null, touch: () => (db.query("SELECT 1"), 1) } },
            logger,
            metrics,
            checks: [],
            signing: { keys: env.SIGNING_KEYS, nonces: memoryNonceStore() },
            createLoaders: () => ({}),
            onStop: async () => void events.push("server stopped"),
          });
        },
        { max: 3 },
      ),
    });
    expect(used).toMatchObject({ url: "postgres://fixture@127.0.0.1/fixture", max: 3 });
    await running.gql("{ touch }");
    expect(running.statements).toEqual(["SELECT 1"]);
    await running.stop();
    expect(events).toEqual(["server stopped", "database closed"]);
  });
});
