import { generateKeyPairSync } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { GraphQLError } from "graphql";
import { SignJWT, decodeJwt, decodeProtectedHeader } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JWT_ALG, createTokenIssuer, createTokenVerifier, jwksOf, loadSigningKey, type SigningKey } from "@ecom/auth";

const settings = { issuer: "ecom-users", audience: "ecom-gateway" };
const alice = { id: "user-alice", role: "CUSTOMER" as const, email: "alice@example.com" };

async function rejection(promise: Promise<unknown>): Promise<{ code: unknown; message: string }> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(GraphQLError);
    return { code: (error as GraphQLError).extensions["code"], message: (error as GraphQLError).message };
  }
  throw new Error("expected a rejection");
}

let key: SigningKey;
let otherKey: SigningKey;
beforeAll(async () => {
  key = await loadSigningKey();
  otherKey = await loadSigningKey();
});

describe("loadSigningKey and jwksOf", () => {
  it("generates an ephemeral ES256 key whose published half has no private part", async () => {
    expect(key.ephemeral).toBe(true);
    expect(key.publicJwk).toMatchObject({ kty: "EC", crv: "P-256", alg: JWT_ALG, use: "sig", kid: expect.any(String) });
    expect(key.publicJwk).not.toHaveProperty("d");
    expect(key.publicJwk.kid).not.toBe(otherKey.publicJwk.kid);
    expect(jwksOf(key, otherKey)).toEqual({ keys: [key.publicJwk, otherKey.publicJwk] });
  });

  it("loads a PKCS#8 PEM, also with escaped newlines (as env files often hold it), with a stable key id", async () => {
    const pem = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const a = await loadSigningKey(pem);
    const b = await loadSigningKey(pem.replace(/\n/g, "\\n"));
    expect(a.ephemeral).toBe(false);
    expect(a.publicJwk).toEqual(b.publicJwk);
    const token = await createTokenIssuer(a, { ...settings, ttlSeconds: 60 })(alice);
    await expect(createTokenVerifier({ jwks: jwksOf(b) }, settings)(token)).resolves.toEqual({ userId: alice.id, role: "CUSTOMER" });
  });

  it("refuses a PEM that is not an ES256 PKCS#8 key", async () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    await expect(loadSigningKey(rsa)).rejects.toThrow();
    await expect(loadSigningKey("not a pem")).rejects.toThrow();
  });
});

describe("createTokenIssuer", () => {
  it("issues an ES256 JWT with kid, subject, role, issuer, audience and expiry", async () => {
    const token = await createTokenIssuer(key, { ...settings, ttlSeconds: 3600 })(alice);
    expect(decodeProtectedHeader(token)).toEqual({ alg: "ES256", kid: key.publicJwk.kid, typ: "JWT" });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ sub: alice.id, role: "CUSTOMER", email: alice.email, iss: "ecom-users", aud: "ecom-gateway" });
    expect(claims.exp! - claims.iat!).toBe(3600);
    expect(Math.abs(claims.iat! - Date.now() / 1000)).toBeLessThan(5);
  });
});

describe("createTokenVerifier with a local JWKS", () => {
  const issue = (ttlSeconds = 60, signing: SigningKey = key, claims = settings) =>
    createTokenIssuer(signing, { ...claims, ttlSeconds })(alice);
  const verify = (token: string, now?: () => Date) => createTokenVerifier({ jwks: jwksOf(key) }, settings, now ? { now } : {})(token);

  it("returns the identity of a valid token", async () => {
    await expect(verify(await issue())).resolves.toEqual({ userId: alice.id, role: "CUSTOMER" });
    const adminToken = await createTokenIssuer(key, { ...settings, ttlSeconds: 60 })({ id: "root", role: "ADMIN" });
    await expect(verify(adminToken)).resolves.toEqual({ userId: "root", role: "ADMIN" });
  });

  it("refuses an expired token with UNAUTHENTICATED saying it expired", async () => {
    const token = await issue(1);
    const exp = decodeJwt(token).exp!;
    // Still valid during its last second (and the 5 s skew), expired from then on (jose's currentDate, no waiting).
    await expect(verify(token, () => new Date((exp - 1) * 1000))).resolves.toMatchObject({ userId: alice.id });
    const expired = await rejection(verify(token, () => new Date((exp + 6) * 1000)));
    expect(expired.code).toBe("UNAUTHENTICATED");
    expect(expired.message).toMatch(/expired/);
  });

  it("refuses a token before its nbf, beyond the clock skew, and accepts it within the skew", async () => {
    const nbf = Math.floor(Date.now() / 1000) + 60;
    const token = await new SignJWT({ role: "CUSTOMER" })
      .setProtectedHeader({ alg: JWT_ALG, kid: key.publicJwk.kid, typ: "JWT" })
      .setIssuer(settings.issuer)
      .setAudience(settings.audience)
      .setSubject("u")
      .setNotBefore(nbf)
      .setExpirationTime(nbf + 600)
      .sign(key.privateKey);
    expect((await rejection(verify(token))).code).toBe("UNAUTHENTICATED");
    // 3 s early: inside the default 5 s skew.
    await expect(verify(token, () => new Date((nbf - 3) * 1000))).resolves.toMatchObject({ userId: "u" });
    const exp = nbf + 600;
    await expect(verify(token, () => new Date((exp + 3) * 1000))).resolves.toMatchObject({ userId: "u" });
    expect((await rejection(verify(token, () => new Date((exp + 10) * 1000)))).code).toBe("UNAUTHENTICATED");
  });

  it("refuses a token of another type (typ pinned to JWT)", async () => {
    const token = await new SignJWT({ role: "CUSTOMER" })
      .setProtectedHeader({ alg: JWT_ALG, kid: key.publicJwk.kid, typ: "at+jwt" })
      .setIssuer(settings.issuer)
      .setAudience(settings.audience)
      .setSubject("u")
      .setExpirationTime("1h")
      .sign(key.privateKey);
    expect((await rejection(verify(token))).code).toBe("UNAUTHENTICATED");
  });

  it("refuses a token from another issuer or for another audience", async () => {
    for (const claims of [
      { issuer: "evil", audience: settings.audience },
      { issuer: settings.issuer, audience: "another-service" },
    ]) {
      expect(await rejection(verify(await issue(60, key, claims)))).toEqual({ code: "UNAUTHENTICATED", message: "Invalid token." });
    }
  });

  it("refuses a token signed by another key, even one claiming our key id", async () => {
    expect((await rejection(verify(await issue(60, otherKey)))).code).toBe("UNAUTHENTICATED");
    const impostor: SigningKey = { ...otherKey, publicJwk: key.publicJwk };
    const forged = await issue(60, impostor);
    expect(decodeProtectedHeader(forged).kid).toBe(key.publicJwk.kid);
    expect(await rejection(verify(forged))).toEqual({ code: "UNAUTHENTICATED", message: "Invalid token." });
  });

  it("refuses a token whose payload was changed after signing", async () => {
    const [header, , signature] = (await issue()).split(".");
    const payload = Buffer.from(JSON.stringify({ ...decodeJwt(await issue()), role: "ADMIN" })).toString("base64url");
    expect((await rejection(verify(`${header}.${payload}.${signature}`))).code).toBe("UNAUTHENTICATED");
  });

  it("refuses unsigned tokens and garbage", async () => {
    const claims = Buffer.from(
      JSON.stringify({ sub: "x", role: "ADMIN", iss: settings.issuer, aud: settings.audience, exp: 9e9 }),
    ).toString("base64url");
    const none = `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${claims}.`;
    expect((await rejection(verify(none))).code).toBe("UNAUTHENTICATED");
    expect((await rejection(verify("not-a-jwt"))).code).toBe("UNAUTHENTICATED");
    expect((await rejection(verify(""))).code).toBe("UNAUTHENTICATED");
  });

  it("refuses a correctly signed token without exp, sub or a known role", async () => {
    const base = () =>
      new SignJWT({ role: "CUSTOMER" })
        .setProtectedHeader({ alg: JWT_ALG, kid: key.publicJwk.kid })
        .setIssuer(settings.issuer)
        .setAudience(settings.audience);
    const noExp = await base().setSubject("u").sign(key.privateKey);
    const noSub = await base().setExpirationTime("1h").sign(key.privateKey);
    const badRole = await new SignJWT({ role: "ROOT" })
      .setProtectedHeader({ alg: JWT_ALG, kid: key.publicJwk.kid })
      .setIssuer(settings.issuer)
      .setAudience(settings.audience)
      .setSubject("u")
      .setExpirationTime("1h")
      .sign(key.privateKey);
    for (const token of [noExp, noSub, badRole]) expect((await rejection(verify(token))).code).toBe("UNAUTHENTICATED");
  });
});

describe("createTokenVerifier with a JWKS URL", () => {
  let server: http.Server;
  let jwksUrl = "";
  let fetches = 0;
  let failing = false;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url !== "/.well-known/jwks.json") {
        res.statusCode = 404;
        return res.end();
      }
      fetches++;
      if (failing) {
        res.statusCode = 500;
        return res.end("oops");
      }
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(jwksOf(key)));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it("verifies tokens with keys fetched over HTTP, fetching the JWKS once for many tokens", async () => {
    fetches = 0;
    const verify = createTokenVerifier({ jwksUrl }, settings);
    const issue = createTokenIssuer(key, { ...settings, ttlSeconds: 60 });
    for (let i = 0; i < 3; i++) await expect(verify(await issue(alice))).resolves.toEqual({ userId: alice.id, role: "CUSTOMER" });
    expect(fetches).toBe(1);
  });

  it("refuses a token signed by a key the JWKS does not hold", async () => {
    const verify = createTokenVerifier({ jwksUrl }, settings);
    const token = await createTokenIssuer(otherKey, { ...settings, ttlSeconds: 60 })(alice);
    expect(await rejection(verify(token))).toEqual({ code: "UNAUTHENTICATED", message: "Invalid token." });
  });

  it("reports a failing key server (HTTP 500) as AUTH_UNAVAILABLE, not as a bad token", async () => {
    const token = await createTokenIssuer(key, { ...settings, ttlSeconds: 60 })(alice);
    failing = true;
    try {
      expect((await rejection(createTokenVerifier({ jwksUrl }, settings)(token))).code).toBe("AUTH_UNAVAILABLE");
    } finally {
      failing = false;
    }
  });

  it("refetches the JWKS for an unknown kid at most once per cooldown (forged key ids cannot hammer it)", async () => {
    const verify = createTokenVerifier({ jwksUrl }, settings, { jwksCooldownMs: 60_000 });
    await verify(await createTokenIssuer(key, { ...settings, ttlSeconds: 60 })(alice));
    fetches = 0;
    const stranger = await createTokenIssuer(otherKey, { ...settings, ttlSeconds: 60 })(alice);
    for (let i = 0; i < 5; i++) expect((await rejection(verify(stranger))).code).toBe("UNAUTHENTICATED");
    expect(fetches).toBe(0);
    // Without the cooldown, the unknown kid makes one refetch per verification.
    const eager = createTokenVerifier({ jwksUrl }, settings, { jwksCooldownMs: 0 });
    await eager(await createTokenIssuer(key, { ...settings, ttlSeconds: 60 })(alice));
    fetches = 0;
    expect((await rejection(eager(stranger))).code).toBe("UNAUTHENTICATED");
    expect(fetches).toBe(1);
  });
});

describe("createTokenVerifier when the JWKS server stops", () => {
  it("keeps verifying tokens of known keys, answers AUTH_UNAVAILABLE for unknown ones, and recovers when it is back", async () => {
    const served = { keys: [key] };
    const serve = (port = 0) =>
      new Promise<http.Server>((resolve) => {
        const s = http.createServer((_req, res) => {
          res.setHeader("content-type", "application/json");
          res.end(JSON.stringify(jwksOf(...served.keys)));
        });
        s.listen(port, "127.0.0.1", () => resolve(s));
      });
    const stop = (s: http.Server) => {
      s.closeAllConnections();
      return new Promise((r) => s.close(r));
    };
    let server = await serve();
    const port = (server.address() as AddressInfo).port;
    // Keys are "stale" at once (max age 1 ms), so every verification tries the server first.
    const verify = createTokenVerifier({ jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json` }, settings, {
      jwksMaxAgeMs: 1,
      jwksCooldownMs: 0,
      jwksRetryAfterMs: 0,
    });
    const known = await createTokenIssuer(key, { ...settings, ttlSeconds: 60 })(alice);
    const rotated = await createTokenIssuer(otherKey, { ...settings, ttlSeconds: 60 })(alice);
    await expect(verify(known)).resolves.toEqual({ userId: alice.id, role: "CUSTOMER" });
    await stop(server);

    // Down: the last keys fetched still verify; a key id they lack cannot be checked, which is not the token's fault.
    await expect(verify(known)).resolves.toEqual({ userId: alice.id, role: "CUSTOMER" });
    const unavailable = await rejection(verify(rotated));
    expect(unavailable.code).toBe("AUTH_UNAVAILABLE");
    expect(unavailable.message).toMatch(/try again/);
    // A forged token is still a bad token, key server or not.
    const [h, p] = known.split(".");
    expect((await rejection(verify(`${h}.${p}.${"A".repeat(86)}`))).code).toBe("UNAUTHENTICATED");

    // Back, with the rotated key published.
    served.keys = [key, otherKey];
    server = await serve(port);
    try {
      await expect(verify(rotated)).resolves.toEqual({ userId: alice.id, role: "CUSTOMER" });
    } finally {
      await stop(server);
    }
  });

  it("answers AUTH_UNAVAILABLE when the key server was never reachable (connection refused)", async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const token = await createTokenIssuer(key, { ...settings, ttlSeconds: 60 })(alice);
    const verify = createTokenVerifier({ jwksUrl: `http://127.0.0.1:${port}/jwks.json` }, settings);
    expect((await rejection(verify(token))).code).toBe("AUTH_UNAVAILABLE");
    // Within the retry pause the answer comes without another connection attempt, still AUTH_UNAVAILABLE.
    expect((await rejection(verify(token))).code).toBe("AUTH_UNAVAILABLE");
  });
});
