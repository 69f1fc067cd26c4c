/**
 * In-process harness of a subgraph's integration tests: its server on a free port over a test's database (a fresh
 * clone from `createTestDatabase`), every SQL statement recorded (to prove batching), and GraphQL requests
 * as any identity. Each subgraph's `tests/support.ts` only says how to build its server.
 */
import { serviceKeyring, type Identity, type Keyring, type NonceStore } from "@ecom/auth";
import { parsePgUrl, withPgClient } from "@ecom/db";
import { createLogger, createMetrics, type Logger, type Metrics } from "@ecom/observability";
import type { SubgraphServer } from "@ecom/service";
import type pg from "pg";
import { postGraphQL } from "./contract.ts";
import { signedHeaders, TEST_SIGNING_KEYS, type SignedHeadersOptions } from "./signing.ts";

/** Callers the tests act as: fixed UUIDs, recognizable in failures. */
export const testIdentities: Readonly<Record<"admin" | "customer" | "alice" | "bob", Identity>> = {
  admin: { userId: "00000000-0000-4000-8000-00000000000a", role: "ADMIN" },
  customer: { userId: "00000000-0000-4000-8000-00000000000c", role: "CUSTOMER" },
  alice: { userId: "00000000-0000-4000-8000-0000000000a1", role: "CUSTOMER" },
  bob: { userId: "00000000-0000-4000-8000-0000000000b0", role: "CUSTOMER" },
};

/** A GraphQL response as the tests read it. */
export interface GraphQLResponse<T = Record<string, unknown>> {
  data?: T | null;
  errors?: Array<{ message: string; path?: Array<string | number>; extensions?: { code?: string; field?: string; [k: string]: unknown } }>;
}

/**
 * POSTs a GraphQL operation to subgraph `target` at `url` as `identity` (anonymous when null), signed as the
 * gateway signs (test keys unless `signing` says otherwise).
 */
export async function graphqlRequest<T = Record<string, unknown>>(
  url: string,
  target: string,
  query: string,
  variables: Record<string, unknown> = {},
  identity: Identity | null = null,
  signing: SignedHeadersOptions = {},
): Promise<GraphQLResponse<T>> {
  const { status: _status, ...body } = await postGraphQL(url, query, variables, signedHeaders(target, identity, signing));
  return body as GraphQLResponse<T>;
}

/** The `extensions.code` of each error of a response. */
export const codesOf = (res: GraphQLResponse<unknown>) => (res.errors ?? []).map((e) => e.extensions?.code);

/**
 * Runs one SQL statement on `url` with a short-lived connection (the service's own pool stays untouched), to
 * arrange or inspect rows the API does not expose.
 */
export async function sql<R extends pg.QueryResultRow = Record<string, unknown>>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  return withPgClient(parsePgUrl(url), async (client) => (await client.query<R>(text, values)).rows);
}

/** What the `build` of {@link startSubgraphForTest} receives. */
export interface SubgraphBuildContext {
  /** The test's database. */
  databaseUrl: string;
  /** Pass to the database's `onQuery`: statements land in {@link RunningSubgraph.statements}. */
  onQuery: (sql: string) => void;
  /** The common part of a subgraph's `createServer` deps: test env, a silent logger, private metrics. */
  deps: {
    env: { NODE_ENV: "test"; SIGNING_KEYS: Keyring; REDIS_URL: string; NONCE_STORE?: NonceStore };
    logger: Logger;
    metrics: Metrics;
  };
}

/** What the `build` of {@link startSubgraphForTest} returns. */
export interface BuiltSubgraph {
  /** The subgraph's server, not yet listening. */
  server: SubgraphServer;
  /** Runs after the server stopped: closes what `build` opened (the database). */
  close?: () => Promise<void>;
}

/** Options of {@link startSubgraphForTest}. */
export interface StartSubgraphForTestOptions {
  /** Subgraph name (logger and metrics label). */
  service: string;
  /** The test's database, e.g. from `await createTestDatabase(inject("testRun"), service)`. */
  databaseUrl: string;
  /** Builds the server over the database, typically `createDatabase(databaseUrl, { onQuery })` + `createServer`. */
  build: (context: SubgraphBuildContext) => Promise<BuiltSubgraph>;
  /**
   * The master keys: the server verifies with the service keys derived from them, {@link RunningSubgraph.gql}
   * signs with them as the gateway does.
   * @default TEST_SIGNING_KEYS
   */
  masterKeys?: Keyring;
  /**
   * Where the server remembers nonces (replay check).
   * @default Redis at `redisUrl` (the test run's, when given)
   */
  nonces?: NonceStore;
  /**
   * Redis of the nonce store.
   * @default "redis://127.0.0.1:6379/0"
   */
  redisUrl?: string;
}

/**
 * The usual `build` of {@link startSubgraphForTest}: the subgraph's database on the test's URL (statements
 * recorded), its `createServer` over it, and the database closed after the server.
 *
 * @example startSubgraphForTest({ service: "products", databaseUrl, build: buildWithDatabase(createDatabase, createServer, { max: 4 }) })
 */
export function buildWithDatabase<Db extends { close(): Promise<void> }>(
  createDatabase: (url: string, options: { max?: number; onQuery?: (sql: string) => void }) => Db,
  createServer: (deps: SubgraphBuildContext["deps"] & { db: Db }) => Promise<SubgraphServer>,
  options: {
    /**
     * Pool size.
     * @default 10
     */
    max?: number;
  } = {},
): StartSubgraphForTestOptions["build"] {
  return async ({ databaseUrl, onQuery, deps }) => {
    const db = createDatabase(databaseUrl, { max: options.max ?? 10, onQuery });
    return { server: await createServer({ ...deps, db }), close: db.close };
  };
}

/** A subgraph started by {@link startSubgraphForTest}. Dispose it (`await using`) before its database. */
export interface RunningSubgraph extends AsyncDisposable {
  /** Its `/graphql` URL. */
  url: string;
  /** SQL statements run since the last {@link RunningSubgraph.resetStatements}. */
  statements: string[];
  resetStatements(): void;
  /** POSTs a GraphQL operation, as `identity` (anonymous when null). */
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    identity?: Identity | null,
  ): Promise<GraphQLResponse<T>>;
  /** Stops the server, then closes what `build` opened. Idempotent; disposing calls it. */
  stop(): Promise<void>;
}

/** Starts a subgraph in-process on 127.0.0.1 (a free port) over a test's database. */
export async function startSubgraphForTest(options: StartSubgraphForTestOptions): Promise<RunningSubgraph> {
  const master = options.masterKeys ?? TEST_SIGNING_KEYS;
  const statements: string[] = [];
  const { server, close } = await options.build({
    databaseUrl: options.databaseUrl,
    onQuery: (text) => statements.push(text),
    deps: {
      env: {
        NODE_ENV: "test",
        SIGNING_KEYS: serviceKeyring(master, options.service),
        REDIS_URL: options.redisUrl ?? "redis://127.0.0.1:6379/0",
        ...(options.nonces ? { NONCE_STORE: options.nonces } : {}),
      },
      logger: createLogger({ service: options.service, level: "silent" }),
      metrics: createMetrics({ service: options.service, defaultMetrics: false }),
    },
  });
  const { url } = await server.listen(0, "127.0.0.1");
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await server.stop();
      await close?.();
    })());
  return {
    url,
    statements,
    resetStatements: () => void (statements.length = 0),
    gql: (query, variables = {}, identity = null) => graphqlRequest(url, options.service, query, variables, identity, { master }),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
