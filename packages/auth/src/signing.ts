/**
 * Signed calls between processes: every request to a subgraph carries an HMAC-SHA256 over its method, path, a
 * timestamp, a nonce, the digest of its body and the identity headers, made with a key that only the caller and
 * the target can hold.
 *
 * Written by hand over node:crypto (hkdfSync, createHmac, timingSafeEqual): no well-kept library does HMAC request
 * signing with keys scoped per (caller, target) by HKDF. HTTP Message Signatures (RFC 9421) libraries sign headers
 * with one shared key or a key pair and leave derivation, replay memory and rotation to the application, which is
 * all of this module; the primitives themselves are node's.
 *
 * Keys, three levels (all HKDF-SHA256, 32 bytes):
 *
 *   master M            SIGNING_KEYS of the gateway (and of `npm run keys`): the only root.
 *   service key S(t)    = HKDF(M, "ecom-sign:v1:service:<t>"): SIGNING_KEYS of subgraph t. From it t derives
 *                         the key of any caller *to itself*, and nothing else: it cannot forge calls to another.
 *   pair key K(c -> t)  = HKDF(S(t), "ecom-sign:v1:<c>-><t>"): signs calls from c to t. The gateway derives it
 *                         from M; a subgraph that calls another (orders -> products) is given it
 *                         (PRODUCTS_SIGNING_KEYS), so it can call products as `orders` and as nothing else.
 *
 * Rotation: a keyring holds several keys, each with an id (`kid1:<base64url>,kid2:<base64url>`). The first signs,
 * any verifies; the key id travels in a header. Derived keyrings keep the master's key ids.
 */
import { createHash, createHmac, hkdfSync, randomBytes, randomFillSync, timingSafeEqual } from "node:crypto";
import type { Identity, Role } from "./identity.ts";
import { IDENTITY_HEADERS } from "./identity.ts";

/** One key of a keyring. */
export interface KeyringEntry {
  /** Key id, sent with each signature so the verifier knows which key to use. */
  readonly kid: string;
  /** 32 bytes (a master key may be longer; at least 32). */
  readonly key: Buffer;
}

/** Keys in order of preference: the first signs, every one verifies. Never empty. */
export type Keyring = readonly KeyringEntry[];

/** Headers of a signed request. */
export const SIGNATURE_HEADERS = {
  /** Who signed: `gateway`, or the calling service's name. */
  caller: "x-ecom-caller",
  keyId: "x-ecom-key-id",
  /** Milliseconds since the epoch. */
  timestamp: "x-ecom-timestamp",
  /** Random, once per request: a replayed mutation is recognised by it. */
  nonce: "x-ecom-nonce",
  signature: "x-ecom-signature",
} as const;

/** The caller name of the gateway; only it may assert a user's identity (see {@link RequestVerifierOptions}). */
export const GATEWAY_CALLER = "gateway";

/** Default validity window of a signature around its timestamp (each way). */
export const DEFAULT_SIGNING_WINDOW_MS = 30_000;

const KID = /^[A-Za-z0-9._-]{1,64}$/;
const NAME = /^[a-z][a-z0-9-]{0,62}$/;
const NONCE = /^[A-Za-z0-9_-]{16,64}$/;
const SIGNATURE = /^[A-Za-z0-9_-]{43}$/;
const TIMESTAMP = /^[0-9]{1,16}$/;
const ROLES: ReadonlySet<string> = new Set<Role>(["CUSTOMER", "ADMIN"]);
const SALT = Buffer.from("ecom-sign:v1", "utf8");

function hkdf(key: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync("sha256", key, SALT, Buffer.from(info, "utf8"), 32));
}

function checkName(name: string, what: string): void {
  if (!NAME.test(name)) throw new Error(`${what} "${name}" must be lower-case letters, digits and - (e.g. orders)`);
}

/**
 * Parses `kid1:<base64url>,kid2:<base64url>` (standard base64 accepted too). Each key must decode to at least
 * 32 bytes; key ids must be unique.
 * @throws Error saying what is wrong and how to make a key (`npm run keys`)
 */
export function parseKeyring(text: string): Keyring {
  const entries: KeyringEntry[] = [];
  const parts = text
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new Error("no key: expected kid:<base64url>[,kid:<base64url>] (make one with `npm run keys`)");
  for (const part of parts) {
    const colon = part.indexOf(":");
    const kid = colon < 0 ? "" : part.slice(0, colon);
    const encoded = colon < 0 ? "" : part.slice(colon + 1);
    if (!KID.test(kid)) throw new Error(`"${part.slice(0, 12)}...": expected kid:<base64url> with a key id of letters, digits, . _ -`);
    if (!/^[A-Za-z0-9_\-+/]+=*$/.test(encoded)) throw new Error(`key ${kid}: not base64url`);
    const key = Buffer.from(encoded, "base64url");
    if (key.length < 32) throw new Error(`key ${kid}: ${key.length} bytes, at least 32 needed (make one with \`npm run keys\`)`);
    if (entries.some((e) => e.kid === kid)) throw new Error(`key id ${kid} appears twice`);
    entries.push({ kid, key });
  }
  return entries;
}

/** The text form {@link parseKeyring} reads. */
export function formatKeyring(keyring: Keyring): string {
  return keyring.map((k) => `${k.kid}:${k.key.toString("base64url")}`).join(",");
}

/** A new random master key (32 bytes) with id `kid` (default: `k` and today's date, e.g. `k20261201`). */
export function generateMasterKey(kid = `k${new Date().toISOString().slice(0, 10).replaceAll("-", "")}`): KeyringEntry {
  if (!KID.test(kid)) throw new Error(`key id "${kid}" must be letters, digits, . _ -`);
  return { kid, key: randomBytes(32) };
}

/** Key id of the development master key. */
export const DEV_SIGNING_KID = "dev";

/**
 * The development master keyring: derived from a public string, so every process started in development or test
 * agrees on it without configuration. Production refuses it (@ecom/config's signing rules).
 */
export function devMasterKeyring(): Keyring {
  return [{ kid: DEV_SIGNING_KID, key: createHash("sha256").update("ecom-development-signing-master-key (public)").digest() }];
}

/** S(service): the keyring subgraph `service` verifies with (SIGNING_KEYS of that subgraph). */
export function serviceKeyring(master: Keyring, service: string): Keyring {
  checkName(service, "service");
  return master.map(({ kid, key }) => ({ kid, key: hkdf(key, `ecom-sign:v1:service:${service}`) }));
}

/** K(caller -> target) from the target's service keyring. */
export function pairKeyring(targetServiceKeys: Keyring, caller: string, target: string): Keyring {
  checkName(caller, "caller");
  checkName(target, "target");
  return targetServiceKeys.map(({ kid, key }) => ({ kid, key: hkdf(key, `ecom-sign:v1:${caller}->${target}`) }));
}

/** K(caller -> target) from the master keyring (what the gateway and `npm run keys` do). */
export function pairKeyringFromMaster(master: Keyring, caller: string, target: string): Keyring {
  return pairKeyring(serviceKeyring(master, target), caller, target);
}

/** The hex SHA-256 of a request body (empty for none). */
export function bodyDigest(body: string | Uint8Array | undefined): string {
  return createHash("sha256")
    .update(body ?? "")
    .digest("hex");
}

/** What the signature covers. */
interface Signed {
  caller: string;
  target: string;
  method: string;
  path: string;
  timestamp: string;
  nonce: string;
  digest: string;
  userId: string;
  role: string;
}

// One field a line; none of them can hold a newline (their formats are checked), so fields cannot be shifted.
function canonical(s: Signed): string {
  return ["ecom-sign:v1", s.caller, s.target, s.method.toUpperCase(), s.path, s.timestamp, s.nonce, s.digest, s.userId, s.role].join("\n");
}

function mac(key: Buffer, signed: Signed): Buffer {
  return createHmac("sha256", key).update(canonical(signed), "utf8").digest();
}

/** A request to sign: its headers must already hold the identity headers it will be sent with. */
export interface RequestToSign {
  method: string;
  /** Path and query of the URL (`/graphql`). */
  path: string;
  body: string | Uint8Array | undefined;
  /** Lower-case names. The identity headers (x-user-id, x-user-role) are read from here. */
  headers: Readonly<Record<string, string>>;
}

/** Bytes of CSPRNG output in one nonce (128 bits). */
const NONCE_BYTES = 16;

/**
 * A source of request nonces: 16 bytes of CSPRNG output each, base64url (22 characters, the wire format the
 * verifier's NONCE pattern accepts). The bytes are drawn `poolBytes` at a time with `randomFillSync` and handed out
 * in 16-byte slices, each slice once, then the pool is refilled: the entropy cache Node keeps for `randomUUID`. One
 * `randomBytes(16)` per subgraph call allocated a buffer and entered the CSPRNG every time (about 5% of the call
 * path's CPU in the gateway's profile); the nonces are as random as before, only fetched in bulk.
 * @param poolBytes multiple of 16, at least 16. @default 4096
 */
export function createNonceSource(poolBytes = 4096): () => string {
  if (!Number.isInteger(poolBytes) || poolBytes < NONCE_BYTES || poolBytes % NONCE_BYTES !== 0)
    throw new Error(`poolBytes must be a positive multiple of ${NONCE_BYTES}, got ${poolBytes}`);
  const pool = Buffer.allocUnsafeSlow(poolBytes);
  // At the end: the first call fills the pool, so a signer that never signs draws nothing.
  let offset = poolBytes;
  return () => {
    if (offset === poolBytes) {
      randomFillSync(pool);
      offset = 0;
    }
    const start = offset;
    offset += NONCE_BYTES;
    return pool.toString("base64url", start, offset);
  };
}

/** Options of {@link createRequestSigner}. */
export interface RequestSignerOptions {
  /** The signing process's name (`gateway`, `orders`). */
  caller: string;
  /** The subgraph called. */
  target: string;
  /** K(caller -> target): the first key signs. */
  keys: Keyring;
  /** @default Date.now */
  now?: () => number;
}

/** Signs requests from one caller to one target; returns the headers to add. */
export function createRequestSigner(options: RequestSignerOptions): (request: RequestToSign) => Record<string, string> {
  checkName(options.caller, "caller");
  checkName(options.target, "target");
  const signing = options.keys[0];
  if (!signing) throw new Error("an empty keyring cannot sign");
  const now = options.now ?? Date.now;
  const nextNonce = createNonceSource();
  return (request) => {
    const timestamp = String(Math.floor(now()));
    const nonce = nextNonce();
    const signature = mac(signing.key, {
      caller: options.caller,
      target: options.target,
      method: request.method,
      path: request.path,
      timestamp,
      nonce,
      digest: bodyDigest(request.body),
      userId: request.headers[IDENTITY_HEADERS.userId] ?? "",
      role: request.headers[IDENTITY_HEADERS.role] ?? "",
    }).toString("base64url");
    return {
      [SIGNATURE_HEADERS.caller]: options.caller,
      [SIGNATURE_HEADERS.keyId]: signing.kid,
      [SIGNATURE_HEADERS.timestamp]: timestamp,
      [SIGNATURE_HEADERS.nonce]: nonce,
      [SIGNATURE_HEADERS.signature]: signature,
    };
  };
}

/** Why a request was refused. */
export type SignatureFailure =
  "unsigned" | "malformed" | "unknown-key" | "expired" | "bad-signature" | "identity-not-allowed" | "replayed" | "replay-check-unavailable";

/** A request that failed verification: answer 401 (503 for `replay-check-unavailable`). */
export class SignatureError extends Error {
  readonly brand = "SignatureError" as const;
  constructor(
    readonly reason: SignatureFailure,
    message: string,
  ) {
    super(message);
  }
}

/** True when `error` is a {@link SignatureError}, also across module copies. */
export const isSignatureError = (error: unknown): error is SignatureError =>
  (error as { brand?: unknown } | null)?.brand === "SignatureError";

/** Request headers: node's `IncomingHttpHeaders` (lower-case keys) or a plain record. */
type HeaderRecord = Readonly<Record<string, string | string[] | undefined>>;

function one(headers: HeaderRecord, name: string): string | undefined {
  const raw = headers[name];
  // A repeated header is refused rather than guessed at (node joins most repeats with ", " anyway).
  if (Array.isArray(raw)) return raw.length === 1 ? raw[0] : "\n";
  return raw;
}

/** The signature headers of a request, checked for form, key id and window (step 1, before the body is read). */
export interface SignatureClaims {
  caller: string;
  kid: string;
  timestamp: number;
  nonce: string;
  signature: Buffer;
  key: Buffer;
}

/** A verified request: who signed it, for whom (identity), and its nonce (for the replay check). */
export interface VerifiedRequest {
  caller: string;
  kid: string;
  /** The user the gateway vouches for; null for anonymous calls and service-to-service calls. */
  identity: Identity | null;
  nonce: string;
  timestamp: number;
}

/** Options of {@link createRequestVerifier}. */
export interface RequestVerifierOptions {
  /** The verifying subgraph's name (the target of the calls it accepts). */
  service: string;
  /** S(service): its service keyring (all keys verify). */
  keys: Keyring;
  /**
   * How far a timestamp may be from now, either way.
   * @default 30000
   */
  windowMs?: number;
  /**
   * Callers allowed to send identity headers (to act for a user). A service calling another acts as itself.
   * @default ["gateway"]
   */
  identityCallers?: readonly string[];
  /** @default Date.now */
  now?: () => number;
}

/** Verifies signed requests to one subgraph. */
export interface RequestVerifier {
  readonly windowMs: number;
  /** Step 1: form, key id and window of the signature headers. @throws SignatureError */
  claims(headers: HeaderRecord): SignatureClaims;
  /** Step 2: the HMAC over the request, and the identity it carries. @throws SignatureError */
  verify(claims: SignatureClaims, request: { method: string; path: string; digest: string; headers: HeaderRecord }): VerifiedRequest;
}

/** See {@link RequestVerifier}. */
export function createRequestVerifier(options: RequestVerifierOptions): RequestVerifier {
  checkName(options.service, "service");
  if (options.keys.length === 0) throw new Error("an empty keyring verifies nothing");
  const windowMs = options.windowMs ?? DEFAULT_SIGNING_WINDOW_MS;
  const now = options.now ?? Date.now;
  const identityCallers = new Set(options.identityCallers ?? [GATEWAY_CALLER]);
  const kids = new Map(options.keys.map((k) => [k.kid, k.key]));
  // K(caller -> service) by kid and caller; callers are few (the gateway and a service or two). Bounded anyway,
  // since the caller name comes from the request (a flood of made-up names must not grow it without end).
  const pairKeys = new Map<string, Buffer>();
  function pairKey(kid: string, serviceKey: Buffer, caller: string): Buffer {
    const id = `${kid}\n${caller}`;
    let key = pairKeys.get(id);
    if (!key) {
      key = pairKeyring([{ kid, key: serviceKey }], caller, options.service)[0]!.key;
      if (pairKeys.size >= 256) pairKeys.clear();
      pairKeys.set(id, key);
    }
    return key;
  }

  return {
    windowMs,
    claims(headers) {
      const caller = one(headers, SIGNATURE_HEADERS.caller);
      const kid = one(headers, SIGNATURE_HEADERS.keyId);
      const timestamp = one(headers, SIGNATURE_HEADERS.timestamp);
      const nonce = one(headers, SIGNATURE_HEADERS.nonce);
      const signature = one(headers, SIGNATURE_HEADERS.signature);
      if (caller === undefined && kid === undefined && timestamp === undefined && nonce === undefined && signature === undefined)
        throw new SignatureError("unsigned", "This service accepts signed requests only (call it through the gateway).");
      if (
        caller === undefined ||
        !NAME.test(caller) ||
        kid === undefined ||
        !KID.test(kid) ||
        timestamp === undefined ||
        !TIMESTAMP.test(timestamp) ||
        nonce === undefined ||
        !NONCE.test(nonce) ||
        signature === undefined ||
        !SIGNATURE.test(signature)
      )
        throw new SignatureError("malformed", "Malformed request signature.");
      const serviceKey = kids.get(kid);
      if (!serviceKey) throw new SignatureError("unknown-key", "The request is signed with a key this service does not hold.");
      const at = Number(timestamp);
      if (Math.abs(now() - at) > windowMs) throw new SignatureError("expired", "The request signature is outside its validity window.");
      return { caller, kid, timestamp: at, nonce, signature: Buffer.from(signature, "base64url"), key: pairKey(kid, serviceKey, caller) };
    },
    verify(claims, request) {
      const userId = one(request.headers, IDENTITY_HEADERS.userId);
      const role = one(request.headers, IDENTITY_HEADERS.role);
      const expected = mac(claims.key, {
        caller: claims.caller,
        target: options.service,
        method: request.method,
        path: request.path,
        timestamp: String(claims.timestamp),
        nonce: claims.nonce,
        digest: request.digest,
        userId: userId ?? "",
        role: role ?? "",
      });
      // Both are 32 bytes (the signature's form was checked), so the comparison is constant-time.
      if (claims.signature.length !== expected.length || !timingSafeEqual(claims.signature, expected))
        throw new SignatureError("bad-signature", "The request signature does not match.");
      let identity: Identity | null = null;
      if (userId !== undefined || role !== undefined) {
        if (!identityCallers.has(claims.caller))
          throw new SignatureError("identity-not-allowed", `${claims.caller} may not act for a user.`);
        if (!userId || !role || !ROLES.has(role)) throw new SignatureError("malformed", "Malformed identity headers.");
        identity = { userId, role: role as Role };
      }
      return { caller: claims.caller, kid: claims.kid, identity, nonce: claims.nonce, timestamp: claims.timestamp };
    },
  };
}

/** Remembers nonces for the replay check. */
export interface NonceStore {
  /** True the first time `nonce` is seen within `ttlMs`; false for a replay. Rejects when the store is unreachable. */
  claim(nonce: string, ttlMs: number): Promise<boolean>;
}

/** The part of an ioredis client {@link redisNonceStore} uses. */
export interface NonceRedis {
  set(key: string, value: string, px: "PX", ttl: number, nx: "NX"): Promise<"OK" | null>;
}

/** Nonces in Redis: `SET <prefix><nonce> 1 PX <ttl> NX`, one round trip, atomic across replicas. */
export function redisNonceStore(redis: NonceRedis, prefix: string): NonceStore {
  return {
    async claim(nonce, ttlMs) {
      return (await redis.set(`${prefix}${nonce}`, "1", "PX", Math.max(1, Math.ceil(ttlMs)), "NX")) === "OK";
    },
  };
}

/**
 * Nonces in this process's memory: for a single instance and for tests. Replicas do not share it (use
 * {@link redisNonceStore}). Bounded: past `maxEntries` live nonces, new ones are refused as if replayed
 * (fail closed) rather than forgetting live ones.
 */
export function memoryNonceStore(options: { maxEntries?: number; now?: () => number } = {}): NonceStore {
  const seen = new Map<string, number>();
  const max = options.maxEntries ?? 100_000;
  const now = options.now ?? Date.now;
  return {
    async claim(nonce, ttlMs) {
      const t = now();
      if (seen.size >= max) for (const [n, until] of seen) if (until <= t) seen.delete(n);
      const until = seen.get(nonce);
      if (until !== undefined && until > t) return false;
      if (seen.size >= max) return false;
      seen.set(nonce, t + ttlMs);
      return true;
    },
  };
}
