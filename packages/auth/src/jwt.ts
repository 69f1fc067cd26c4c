import { createHash } from "node:crypto";
import {
  SignJWT,
  createLocalJWKSet,
  createRemoteJWKSet,
  exportJWK,
  generateKeyPair,
  importPKCS8,
  jwtVerify,
  type JSONWebKeySet,
  type JWK,
  type JWTVerifyGetKey,
  type CryptoKey,
} from "jose";
import { authUnavailable, unauthenticated } from "@ecom/errors";
import type { Identity, Role } from "./identity.ts";

/** Signing algorithm: ECDSA P-256, short keys and fast verification at the gateway. */
export const JWT_ALG = "ES256";

/** A private signing key with its public half published as a JWKS. */
export interface SigningKey {
  privateKey: CryptoKey;
  publicJwk: JWK & { kid: string };
  /** True when generated at start-up (development): tokens die with the process. */
  ephemeral: boolean;
}

/**
 * Loads the signing key from a PKCS#8 PEM (production), or generates an ephemeral one (development only:
 * the configuration refuses a missing key in production).
 */
export async function loadSigningKey(pkcs8Pem?: string): Promise<SigningKey> {
  const { privateKey, ephemeral } = pkcs8Pem
    ? { privateKey: await importPKCS8(pkcs8Pem.replace(/\\n/g, "\n"), JWT_ALG, { extractable: true }), ephemeral: false }
    : { privateKey: (await generateKeyPair(JWT_ALG, { extractable: true })).privateKey, ephemeral: true };
  const jwk = await exportJWK(privateKey);
  // The public half is the private JWK without `d`; the key id is a thumbprint-like hash of it.
  const { d: _d, ...pub } = jwk;
  const kid = createHash("sha256")
    .update(JSON.stringify({ crv: pub.crv, kty: pub.kty, x: pub.x, y: pub.y }))
    .digest("base64url")
    .slice(0, 16);
  return { privateKey, publicJwk: { ...pub, kid, alg: JWT_ALG, use: "sig" }, ephemeral };
}

/** The JWKS document to serve at `/.well-known/jwks.json`. */
export function jwksOf(...keys: SigningKey[]): JSONWebKeySet {
  return { keys: keys.map((k) => k.publicJwk) };
}

/** Token claims checked on both sides. */
export interface TokenSettings {
  issuer: string;
  audience: string;
}

/**
 * Issues access tokens: `sub` = user id, `role` claim (and `email` when given), `iat` now, `exp` after
 * `ttlSeconds`, signed ES256 with the key's `kid` in the header.
 */
export function createTokenIssuer(key: SigningKey, settings: TokenSettings & { ttlSeconds: number }) {
  return async (user: { id: string; role: Role; email?: string }): Promise<string> =>
    new SignJWT({ role: user.role, ...(user.email ? { email: user.email } : {}) })
      .setProtectedHeader({ alg: JWT_ALG, kid: key.publicJwk.kid, typ: "JWT" })
      .setSubject(user.id)
      .setIssuer(settings.issuer)
      .setAudience(settings.audience)
      .setIssuedAt()
      .setExpirationTime(`${settings.ttlSeconds}s`)
      .sign(key.privateKey);
}

/** Where a verifier gets the public keys: a JWKS URL (fetched and cached) or a JWKS document. */
export type KeySource = { jwksUrl: string } | { jwks: JSONWebKeySet };

/** Options of {@link createTokenVerifier}. */
export interface TokenVerifierOptions {
  /**
   * The clock `exp`/`nbf` are checked against (tests move it instead of waiting).
   * @default () => new Date()
   */
  now?: () => Date;
  /**
   * Clock skew tolerated between the issuer and the verifier on `exp`, `nbf` and `iat`, in seconds.
   * @default 5
   */
  clockToleranceSeconds?: number;
  /**
   * After a failed JWKS fetch, how long the key server is left alone: tokens whose key is already known keep
   * verifying; others are answered AUTH_UNAVAILABLE at once instead of each waiting for a fetch.
   * @default 5000
   */
  jwksRetryAfterMs?: number;
  /**
   * Shortest time between two JWKS fetches caused by an unknown `kid` (a stream of forged key ids must not make
   * us hammer the key server).
   * @default 30000
   */
  jwksCooldownMs?: number;
  /**
   * How long fetched keys are used before they are fetched again (on failure the old ones keep verifying).
   * @default 600000
   */
  jwksMaxAgeMs?: number;
  /**
   * Timeout of one JWKS fetch.
   * @default 5000
   */
  jwksTimeoutMs?: number;
}

/** Errors of a key server that cannot be reached or answers garbage (not a verdict on the token). */
function isKeyServerFailure(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  if (code === "ERR_JWKS_TIMEOUT" || code === "ERR_JOSE_GENERIC" || code === "ERR_JWKS_INVALID") return true;
  // fetch: TypeError("fetch failed") with the socket error as its cause; an abort is a DOMException.
  if (error instanceof TypeError && /fetch/i.test(error.message)) return true;
  const name = (error as { name?: string } | null)?.name;
  return name === "AbortError" || name === "TimeoutError";
}

/** Thrown by the key resolver when the key server is unreachable and the token's key is not known. */
class KeyServerUnavailable extends Error {
  readonly brand = "KeyServerUnavailable" as const;
}

/**
 * Remote keys with stale-if-error: jose's createRemoteJWKSet caches the set and refetches on an unknown `kid`
 * (at most every `cooldown`), but once its cache is older than `cacheMaxAge`, or on an unknown kid, a fetch that
 * fails fails the verification. Here a failed fetch falls back to the keys fetched last, and leaves the key server
 * alone for `retryAfterMs`.
 */
function remoteKeysWithFallback(url: string, options: TokenVerifierOptions): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(new URL(url), {
    cooldownDuration: options.jwksCooldownMs ?? 30_000,
    cacheMaxAge: options.jwksMaxAgeMs ?? 600_000,
    timeoutDuration: options.jwksTimeoutMs ?? 5_000,
  });
  const retryAfterMs = options.jwksRetryAfterMs ?? 5_000;
  let failedAt = Number.NEGATIVE_INFINITY;
  let lastKnown: { jwks: JSONWebKeySet; get: JWTVerifyGetKey } | undefined;

  async function fromLastKnown(...args: Parameters<JWTVerifyGetKey>) {
    const jwks = remote.jwks();
    if (!jwks) throw new KeyServerUnavailable("no keys fetched yet");
    if (lastKnown?.jwks !== jwks) lastKnown = { jwks, get: createLocalJWKSet(jwks) };
    try {
      return await lastKnown.get(...args);
    } catch (error) {
      // The key may be new: we cannot know until the key server answers.
      if ((error as { code?: string }).code === "ERR_JWKS_NO_MATCHING_KEY") throw new KeyServerUnavailable("unknown key id");
      throw error;
    }
  }

  return async (...args) => {
    if (Date.now() - failedAt < retryAfterMs) return fromLastKnown(...args);
    try {
      return await remote(...args);
    } catch (error) {
      if (!isKeyServerFailure(error)) throw error;
      failedAt = Date.now();
      return fromLastKnown(...args);
    }
  };
}

/**
 * Verifies access tokens against the issuer's JWKS. Pinned: algorithm ES256, `typ` JWT, the configured issuer and
 * audience, `exp` and `sub` required, `nbf` honoured, a small clock skew. The JWKS is cached and refetched on an
 * unknown `kid` (at most every `jwksCooldownMs`); when the key server is unreachable, tokens of known keys still
 * verify.
 * @returns a function resolving to the caller's identity; it throws UNAUTHENTICATED when the token is not valid,
 * AUTH_UNAVAILABLE (retryable) when it cannot be checked because the key server is unreachable.
 */
export function createTokenVerifier(source: KeySource, settings: TokenSettings, options: TokenVerifierOptions = {}) {
  const keys: JWTVerifyGetKey = "jwksUrl" in source ? remoteKeysWithFallback(source.jwksUrl, options) : createLocalJWKSet(source.jwks);
  return async (token: string): Promise<Identity> => {
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: settings.issuer,
        audience: settings.audience,
        algorithms: [JWT_ALG],
        typ: "JWT",
        // jose accepts a token without `exp` as never expiring: ours always carry one, so refuse the rest.
        requiredClaims: ["exp", "sub"],
        clockTolerance: options.clockToleranceSeconds ?? 5,
        ...(options.now ? { currentDate: options.now() } : {}),
      });
      const role = payload["role"];
      if (typeof payload.sub !== "string" || (role !== "CUSTOMER" && role !== "ADMIN")) throw new Error("missing claims");
      return { userId: payload.sub, role };
    } catch (error) {
      if ((error as { brand?: unknown }).brand === "KeyServerUnavailable" || isKeyServerFailure(error)) {
        throw authUnavailable("Sign-in cannot be checked right now (key server unreachable): try again shortly.");
      }
      const code = (error as { code?: string }).code;
      if (code === "ERR_JWT_EXPIRED") throw unauthenticated("Your session has expired: sign in again.");
      throw unauthenticated("Invalid token.");
    }
  };
}
