/**
 * In-process fixtures for the gateway's unit tests: small subgraphs built with @ecom/service (the same server
 * every real subgraph uses), a supergraph composed from them, and a gateway in front, all on free ports.
 */
import http, { type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { composeServices } from "@apollo/composition";
import {
  createTokenIssuer,
  createTokenVerifier,
  devMasterKeyring,
  jwksOf,
  loadSigningKey,
  memoryNonceStore,
  serviceKeyring,
} from "@ecom/auth";
import { badUserInput, codedError, ErrorCode, forbidden } from "@ecom/errors";
import { createLogger, createMetrics, type Logger } from "@ecom/observability";
import { createSubgraphServer, type SubgraphServer } from "@ecom/service";
import { parse } from "graphql";
import { createGatewayServer, type GatewayServer, type GatewayServerDeps } from "../src/server.ts";

export const FED = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable"])`;

/** Users: `me` from the forwarded identity, and fields that echo what the subgraph received. */
export const ACCOUNTS_SDL = `${FED}
type User @key(fields: "id") { id: ID! name: String! role: String! }
type Seen { userId: String role: String correlationId: String secretOk: Boolean! }
type Query {
  me: User
  seen: Seen!
  fail(code: String!): String
  boom: String
}`;

/** Another subgraph: its own root field and a field on User, to show partial results when it is down. */
export const CATALOG_SDL = `${FED}
type Product { id: ID! name: String! }
type User @key(fields: "id") { id: ID! wishlistSize: Int }
type Query { products: [Product!] slow: String }`;

/** A subgraph served by a bare HTTP handler (to answer with garbage or 503). */
export const LEGACY_SDL = `${FED}
type Query { legacy: String }`;

export const silentLogger = (): Logger => createLogger({ service: "test", level: "silent" });

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
}

/** A running fixture subgraph. */
export interface FixtureSubgraph {
  url: string;
  /** Headers of every /graphql request it received. */
  received: IncomingHttpHeaders[];
  stop(): Promise<void>;
}

async function startSubgraph(
  name: string,
  sdl: string,
  resolvers: object,
  onRequest?: (h: IncomingHttpHeaders) => void,
): Promise<FixtureSubgraph & { server: SubgraphServer }> {
  const received: IncomingHttpHeaders[] = [];
  const server = await createSubgraphServer({
    name,
    typeDefs: parse(sdl),
    resolvers,
    logger: silentLogger(),
    metrics: createMetrics({ service: name, defaultMetrics: false }),
    checks: [],
    // The gateway of these tests signs with the development master keys (its env default).
    signing: { keys: serviceKeyring(devMasterKeyring(), name), nonces: memoryNonceStore() },
    createLoaders: () => ({}),
    routes: (app) =>
      app.use("/graphql", (req, _res, next) => {
        received.push(req.headers);
        onRequest?.(req.headers);
        next();
      }),
  });
  const { url } = await server.listen(0, "127.0.0.1");
  return { url, received, server, stop: () => server.stop() };
}

/** Starts the accounts subgraph. */
export function startAccounts() {
  return startSubgraph("accounts", ACCOUNTS_SDL, {
    Query: {
      me: (_: unknown, __: unknown, ctx: { identity: { userId: string; role: string } | null }) =>
        ctx.identity ? { id: ctx.identity.userId, name: `user ${ctx.identity.userId}`, role: ctx.identity.role } : null,
      seen: (_: unknown, __: unknown, ctx: { identity: { userId: string; role: string } | null; correlationId: string }) => ({
        userId: ctx.identity?.userId ?? null,
        role: ctx.identity?.role ?? null,
        correlationId: ctx.correlationId,
        secretOk: true,
      }),
      fail: (_: unknown, { code }: { code: string }) => {
        if (code === "BAD_USER_INPUT") throw badUserInput("quantity must be positive", { field: "input.quantity" });
        if (code === "FORBIDDEN") throw forbidden();
        throw codedError(code as ErrorCode, `failed with ${code}`);
      },
      boom: () => {
        throw new Error("connection to db-7.internal:5432 refused");
      },
    },
    User: { __resolveReference: (ref: { id: string }) => ({ id: ref.id, name: `user ${ref.id}`, role: "CUSTOMER" }) },
  });
}

/** Starts the catalog subgraph; `slow` answers after `slowMs`. */
export function startCatalog(slowMs = 0) {
  return startSubgraph("catalog", CATALOG_SDL, {
    Query: {
      products: () => [{ id: "p1", name: "Mug" }],
      slow: () => new Promise((r) => setTimeout(() => r("finally"), slowMs)),
    },
    User: { __resolveReference: (ref: { id: string }) => ({ id: ref.id, wishlistSize: 3 }) },
  });
}

/** A bare HTTP server answering every request to /graphql with `status` and `body` (404 elsewhere). */
export async function startRawSubgraph(answer: { status: number; body: string; contentType?: string }): Promise<FixtureSubgraph> {
  const received: IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    if (!req.url?.startsWith("/graphql")) {
      res.statusCode = 404;
      res.end();
      return;
    }
    received.push(req.headers);
    res.statusCode = answer.status;
    res.setHeader("content-type", answer.contentType ?? "text/html");
    res.end(answer.body);
  });
  const url = await listen(server);
  return { url, received, stop: () => new Promise<void>((r) => server.close(() => r())) };
}

/** Composes the fixture subgraphs (URLs are placeholders: the gateway gets the real ones as overrides). */
export function composeFixture(sdls: Record<string, string>): string {
  const result = composeServices(
    Object.entries(sdls).map(([name, sdl]) => ({ name, url: `http://placeholder/${name}`, typeDefs: parse(sdl) })),
  );
  if (result.errors) throw new Error(result.errors.map((e) => e.message).join("\n"));
  return result.supergraphSdl;
}

/** Tokens signed by a key made for the test, and a verifier that trusts it. */
export async function testTokens() {
  const key = await loadSigningKey();
  const settings = { issuer: "ecom-users", audience: "ecom-gateway" };
  const issue = createTokenIssuer(key, { ...settings, ttlSeconds: 300 });
  const verifyToken = createTokenVerifier({ jwks: jwksOf(key) }, settings);
  return { issue, verifyToken, otherKey: await loadSigningKey(), settings };
}

/** A gateway in front of `urls` (by subgraph name), listening on a free port. */
export async function startGateway(
  supergraphSdl: string,
  urls: Record<string, string>,
  overrides: Partial<Omit<GatewayServerDeps, "env">> & { env?: Partial<GatewayServerDeps["env"]> } = {},
): Promise<GatewayServer & { url: string; origin: string }> {
  const { verifyToken } = overrides.verifyToken ? { verifyToken: overrides.verifyToken } : await testTokens();
  const server = await createGatewayServer({
    logger: silentLogger(),
    metrics: createMetrics({ service: "gateway", defaultMetrics: false }),
    supergraphSdl,
    subgraphUrls: urls,
    verifyToken,
    readinessTimeoutMs: 1000,
    ...overrides,
    env: { NODE_ENV: "test", SIGNING_KEYS: devMasterKeyring(), SUBGRAPH_TIMEOUT: 5000, ...overrides.env },
  });
  const { url } = await server.listen(0, "127.0.0.1");
  return Object.assign(server, { url, origin: new URL(url).origin });
}

/** POSTs a GraphQL operation; returns status, headers and body. */
export async function gql(
  url: string,
  query: string,
  options: { variables?: Record<string, unknown>; headers?: Record<string, string> } = {},
) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...options.headers },
    body: JSON.stringify({ query, variables: options.variables }),
  });
  const body = (await res.json()) as {
    data?: Record<string, unknown> | null;
    errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, unknown> }>;
  };
  return { status: res.status, headers: res.headers, body };
}

export { ErrorCode };
