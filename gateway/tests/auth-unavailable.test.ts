/**
 * The gateway when the key server (the users subgraph's JWKS) stops: a real JWKS server over HTTP, stopped mid-test.
 * Tokens of keys already fetched keep working; a token whose key cannot be fetched is HTTP 503 AUTH_UNAVAILABLE
 * with Retry-After (retry later), not 401 (which would sign the user out); a forged token stays 401.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createTokenIssuer, createTokenVerifier, jwksOf, loadSigningKey, type SigningKey } from "@ecom/auth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACCOUNTS_SDL, composeFixture, gql, startAccounts, startGateway, type FixtureSubgraph } from "./helpers.ts";

const settings = { issuer: "ecom-users", audience: "ecom-gateway" };

describe("the gateway when the JWKS server is down", () => {
  let jwks: http.Server;
  let accounts: FixtureSubgraph;
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  let published: SigningKey;
  let rotated: SigningKey;

  beforeAll(async () => {
    published = await loadSigningKey();
    rotated = await loadSigningKey();
    jwks = http.createServer((_req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(jwksOf(published)));
    });
    await new Promise<void>((r) => jwks.listen(0, "127.0.0.1", r));
    const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
    accounts = await startAccounts();
    gateway = await startGateway(
      composeFixture({ accounts: ACCOUNTS_SDL }),
      { accounts: accounts.url },
      // No cooldown: an unknown kid makes the verifier go to the key server at once (which is down by then).
      { verifyToken: createTokenVerifier({ jwksUrl }, settings, { jwksCooldownMs: 0 }) },
    );
  });
  afterAll(async () => {
    await gateway?.stop();
    await accounts?.stop();
    jwks.closeAllConnections();
    await new Promise((r) => jwks.close(r));
  });

  it("keeps serving known keys, answers 503 AUTH_UNAVAILABLE with Retry-After for a key it cannot fetch, 401 for a forgery", async () => {
    const token = await createTokenIssuer(published, { ...settings, ttlSeconds: 300 })({ id: "u-1", role: "CUSTOMER" });
    expect((await gql(gateway.url, "{ me { id } }", { headers: { authorization: `Bearer ${token}` } })).body).toEqual({
      data: { me: { id: "u-1" } },
    });

    jwks.closeAllConnections();
    await new Promise((r) => jwks.close(r));

    const second = await createTokenIssuer(published, { ...settings, ttlSeconds: 300 })({ id: "u-2", role: "CUSTOMER" });
    expect((await gql(gateway.url, "{ me { id } }", { headers: { authorization: `Bearer ${second}` } })).body).toEqual({
      data: { me: { id: "u-2" } },
    });

    accounts.received.length = 0;
    const fresh = await createTokenIssuer(rotated, { ...settings, ttlSeconds: 300 })({ id: "u-3", role: "ADMIN" });
    const unavailable = await gql(gateway.url, "{ me { id } }", { headers: { authorization: `Bearer ${fresh}` } });
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers.get("retry-after")).toBe("5");
    expect(unavailable.body.errors?.[0]?.extensions?.["code"]).toBe("AUTH_UNAVAILABLE");
    expect(unavailable.body.data).toBeUndefined();
    expect(accounts.received).toHaveLength(0);

    const [h, p] = token.split(".");
    const forged = await gql(gateway.url, "{ me { id } }", { headers: { authorization: `Bearer ${h}.${p}.${"A".repeat(86)}` } });
    expect(forged.status).toBe(401);
    expect(forged.body.errors?.[0]?.extensions?.["code"]).toBe("UNAUTHENTICATED");
  });
});
