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
import { unauthenticated } from "@ecom/errors";
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
   * Clock skew tolerated between the issuer and the verifier, in seconds.
   * @default 0
   */
  clockToleranceSeconds?: number;
}

/**
 * Verifies access tokens against the issuer's JWKS (cached; refetched on an unknown `kid`, at most every 30 s).
 * Tokens must be ES256 with the configured issuer and audience, a `sub`, a `role` and an `exp`.
 * @returns a function resolving to the caller's identity, or throwing UNAUTHENTICATED with a reason.
 */
export function createTokenVerifier(source: KeySource, settings: TokenSettings, options: TokenVerifierOptions = {}) {
  const keys: JWTVerifyGetKey =
    "jwksUrl" in source
      ? createRemoteJWKSet(new URL(source.jwksUrl), { cooldownDuration: 30_000, timeoutDuration: 5_000 })
      : createLocalJWKSet(source.jwks);
  return async (token: string): Promise<Identity> => {
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: settings.issuer,
        audience: settings.audience,
        algorithms: [JWT_ALG],
        // jose accepts a token without `exp` as never expiring: ours always carry one, so refuse the rest.
        requiredClaims: ["exp", "sub"],
        clockTolerance: options.clockToleranceSeconds ?? 0,
        ...(options.now ? { currentDate: options.now() } : {}),
      });
      const role = payload["role"];
      if (typeof payload.sub !== "string" || (role !== "CUSTOMER" && role !== "ADMIN")) throw new Error("missing claims");
      return { userId: payload.sub, role };
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === "ERR_JWT_EXPIRED") throw unauthenticated("Your session has expired: sign in again.");
      if (
        code === "ERR_JWKS_TIMEOUT" ||
        code === "ERR_JOSE_GENERIC" ||
        (error instanceof TypeError && String(error.message).includes("fetch"))
      ) {
        // The key server is unreachable: the caller cannot be authenticated right now.
        throw unauthenticated("Could not verify the token right now (key server unreachable).");
      }
      throw unauthenticated("Invalid token.");
    }
  };
}
