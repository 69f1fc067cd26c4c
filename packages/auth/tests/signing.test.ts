import type * as NodeCrypto from "node:crypto";
import { randomFillSync, timingSafeEqual } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import {
  bodyDigest,
  createNonceSource,
  createRequestSigner,
  createRequestVerifier,
  devMasterKeyring,
  formatKeyring,
  generateMasterKey,
  identityToHeaders,
  isSignatureError,
  memoryNonceStore,
  pairKeyring,
  pairKeyringFromMaster,
  parseKeyring,
  serviceKeyring,
  SIGNATURE_HEADERS,
  type Identity,
  type Keyring,
  type SignatureFailure,
} from "@ecom/auth";

// Spy on the comparison the module uses, to prove the HMAC is compared in constant time on equal lengths, and on
// the CSPRNG fill, to prove the nonce pool is refilled once per pool used up.
vi.mock("node:crypto", async (importOriginal) => {
  const actual = await importOriginal<typeof NodeCrypto>();
  return { ...actual, default: actual, timingSafeEqual: vi.fn(actual.timingSafeEqual), randomFillSync: vi.fn(actual.randomFillSync) };
});

const master: Keyring = [generateMasterKey("k1")];
const admin: Identity = { userId: "u-2", role: "ADMIN" };
const NOW = 1_800_000_000_000;
const body = JSON.stringify({ query: "mutation { placeOrder }" });

/** A request from `caller` to `target` as the signer sends it: its headers and the parts the verifier reads. */
function signed(options: { caller?: string; target?: string; identity?: Identity | null; keys?: Keyring; at?: number } = {}) {
  const caller = options.caller ?? "gateway";
  const target = options.target ?? "orders";
  const keys = options.keys ?? pairKeyringFromMaster(master, caller, target);
  const sign = createRequestSigner({ caller, target, keys, now: () => options.at ?? NOW });
  const identityHeaders = identityToHeaders(options.identity ?? null);
  const headers: Record<string, string> = { "content-type": "application/json", ...identityHeaders };
  Object.assign(headers, sign({ method: "POST", path: "/graphql", body, headers }));
  return { method: "POST", path: "/graphql", digest: bodyDigest(body), headers };
}

function verifierFor(service: string, keys: Keyring = serviceKeyring(master, service), now = NOW) {
  return createRequestVerifier({ service, keys, now: () => now });
}

function failure(fn: () => unknown): SignatureFailure {
  try {
    fn();
  } catch (error) {
    if (isSignatureError(error)) return error.reason;
    throw error;
  }
  throw new Error("expected a SignatureError");
}

const verify = (verifier: ReturnType<typeof verifierFor>, request: ReturnType<typeof signed>) =>
  verifier.verify(verifier.claims(request.headers), request);

describe("request signing", () => {
  it("verifies what the signer signed, with the identity it carries, and anonymous calls", () => {
    const orders = verifierFor("orders");
    expect(verify(orders, signed({ identity: admin }))).toMatchObject({ caller: "gateway", kid: "k1", identity: admin });
    expect(verify(orders, signed()).identity).toBeNull();
  });

  it("refuses a request without a signature, and one with a malformed one", () => {
    expect(failure(() => verifierFor("orders").claims({ "x-user-id": "u-2", "x-user-role": "ADMIN" }))).toBe("unsigned");
    const request = signed();
    expect(failure(() => verifierFor("orders").claims({ ...request.headers, [SIGNATURE_HEADERS.signature]: "short" }))).toBe("malformed");
    expect(failure(() => verifierFor("orders").claims({ ...request.headers, [SIGNATURE_HEADERS.nonce]: undefined }))).toBe("malformed");
    expect(failure(() => verifierFor("orders").claims({ ...request.headers, [SIGNATURE_HEADERS.timestamp]: "soon" }))).toBe("malformed");
  });

  it("refuses a tampered body, path, method or identity", () => {
    const orders = verifierFor("orders");
    const request = signed({ identity: { userId: "u-1", role: "CUSTOMER" } });
    expect(failure(() => verify(orders, { ...request, digest: bodyDigest(body.replace("placeOrder", "cancelOrder")) }))).toBe(
      "bad-signature",
    );
    expect(failure(() => verify(orders, { ...request, path: "/graphql?x=1" }))).toBe("bad-signature");
    expect(failure(() => verify(orders, { ...request, method: "GET" }))).toBe("bad-signature");
    expect(failure(() => verify(orders, { ...request, headers: { ...request.headers, "x-user-role": "ADMIN" } }))).toBe("bad-signature");
    expect(failure(() => verify(orders, { ...request, headers: { ...request.headers, "x-user-id": "u-9" } }))).toBe("bad-signature");
    // Identity headers added to a signed anonymous call.
    const anonymous = signed();
    expect(failure(() => verify(orders, { ...anonymous, headers: { ...anonymous.headers, ...identityToHeaders(admin) } }))).toBe(
      "bad-signature",
    );
  });

  it("refuses a timestamp outside the window, either way, and accepts one inside it", () => {
    const orders = verifierFor("orders");
    expect(failure(() => verify(orders, signed({ at: NOW - 30_001 })))).toBe("expired");
    expect(failure(() => verify(orders, signed({ at: NOW + 30_001 })))).toBe("expired");
    expect(verify(orders, signed({ at: NOW - 29_000 })).caller).toBe("gateway");
    const strict = createRequestVerifier({ service: "orders", keys: serviceKeyring(master, "orders"), windowMs: 1000, now: () => NOW });
    expect(failure(() => verify(strict, signed({ at: NOW - 1500 })))).toBe("expired");
  });

  it("scopes keys per (caller, target): a key for products does not sign for orders, a subgraph's key signs only calls to itself", () => {
    const orders = verifierFor("orders");
    // The gateway's key for products, presented to orders (claiming to target orders).
    const productsKey = pairKeyringFromMaster(master, "gateway", "products");
    expect(failure(() => verify(orders, signed({ keys: productsKey })))).toBe("bad-signature");
    // Products holds S(products): it can make K(x -> products) for any x, but nothing orders accepts.
    const forged = pairKeyring(serviceKeyring(master, "products"), "gateway", "orders");
    expect(failure(() => verify(orders, signed({ keys: forged })))).toBe("bad-signature");
    // Orders' own K(orders -> products) works against products, as orders, and not as the gateway.
    const ordersToProducts = pairKeyringFromMaster(master, "orders", "products");
    expect(verify(verifierFor("products"), signed({ caller: "orders", target: "products", keys: ordersToProducts })).caller).toBe("orders");
    expect(failure(() => verify(verifierFor("products"), signed({ caller: "gateway", target: "products", keys: ordersToProducts })))).toBe(
      "bad-signature",
    );
  });

  it("lets only the gateway act for a user: a service's signed call with identity headers is refused", () => {
    const keys = pairKeyringFromMaster(master, "orders", "products");
    const request = signed({ caller: "orders", target: "products", keys, identity: admin });
    expect(failure(() => verify(verifierFor("products"), request))).toBe("identity-not-allowed");
  });

  it("rotates: signs with the first key, verifies with any, refuses a removed one", () => {
    const next = generateMasterKey("k2");
    const both: Keyring = [next, ...master];
    const byOld = signed();
    const byNew = signed({ keys: pairKeyringFromMaster(both, "gateway", "orders") });
    expect(byNew.headers[SIGNATURE_HEADERS.keyId]).toBe("k2");
    const accepting = verifierFor("orders", serviceKeyring(both, "orders"));
    expect(verify(accepting, byOld).kid).toBe("k1");
    expect(verify(accepting, byNew).kid).toBe("k2");
    const rotated = verifierFor("orders", serviceKeyring([next], "orders"));
    expect(verify(rotated, byNew).kid).toBe("k2");
    expect(failure(() => verify(rotated, byOld))).toBe("unknown-key");
  });

  it("compares the HMAC in constant time on equal lengths", () => {
    const spy = vi.mocked(timingSafeEqual);
    spy.mockClear();
    const orders = verifierFor("orders");
    verify(orders, signed());
    const request = signed();
    const wrong = { ...request.headers, [SIGNATURE_HEADERS.signature]: "A".repeat(43) };
    expect(failure(() => verify(orders, { ...request, headers: wrong }))).toBe("bad-signature");
    expect(spy).toHaveBeenCalledTimes(2);
    for (const [a, b] of spy.mock.calls) expect((a as Buffer).length).toBe((b as Buffer).length);
  });
});

describe("keyrings", () => {
  it("round-trip through their text form and refuse short keys, bad ids and duplicates", () => {
    const keys: Keyring = [generateMasterKey("a"), generateMasterKey("b")];
    expect(parseKeyring(formatKeyring(keys))).toEqual(keys);
    expect(() => parseKeyring("")).toThrow(/npm run keys/);
    expect(() => parseKeyring(`a:${Buffer.alloc(16).toString("base64url")}`)).toThrow(/16 bytes, at least 32/);
    expect(() => parseKeyring(`a b:${Buffer.alloc(32).toString("base64url")}`)).toThrow(/key id/);
    expect(() => parseKeyring(`a:${Buffer.alloc(32).toString("base64url")},a:${Buffer.alloc(32, 1).toString("base64url")}`)).toThrow(
      /twice/,
    );
  });

  it("derive deterministically (the development default) and differently per service and per pair", () => {
    expect(serviceKeyring(devMasterKeyring(), "users")).toEqual(serviceKeyring(devMasterKeyring(), "users"));
    expect(serviceKeyring(master, "users")[0]!.key.equals(serviceKeyring(master, "orders")[0]!.key)).toBe(false);
    const a = pairKeyringFromMaster(master, "gateway", "orders")[0]!.key;
    const b = pairKeyringFromMaster(master, "payments", "orders")[0]!.key;
    expect(a.equals(b)).toBe(false);
    expect(a).toHaveLength(32);
  });
});

describe("nonces", () => {
  const WIRE = /^[A-Za-z0-9_-]{22}$/;

  it("gives every signed request its own 128-bit base64url nonce", () => {
    const sign = createRequestSigner({ caller: "gateway", target: "orders", keys: pairKeyringFromMaster(master, "gateway", "orders") });
    // 4 KiB pools hold 256 nonces: 1,000 calls cross three refills.
    const nonces = Array.from(
      { length: 1000 },
      () => sign({ method: "POST", path: "/graphql", body, headers: {} })[SIGNATURE_HEADERS.nonce]!,
    );
    expect(new Set(nonces).size).toBe(1000);
    for (const nonce of nonces) {
      expect(nonce).toMatch(WIRE);
      expect(Buffer.from(nonce, "base64url")).toHaveLength(16);
    }
  });

  it("hands out each 16-byte slice of the pool once and refills it when used up, across the boundary", () => {
    const fill = vi.mocked(randomFillSync);
    fill.mockClear();
    const next = createNonceSource(48); // three nonces a pool
    expect(fill).not.toHaveBeenCalled(); // nothing drawn before the first nonce
    const nonces = Array.from({ length: 10 }, () => next());
    expect(fill).toHaveBeenCalledTimes(4); // pools for nonces 1-3, 4-6, 7-9, 10
    expect(new Set(nonces).size).toBe(10);
    for (const nonce of nonces) expect(nonce).toMatch(WIRE);
    // Every fill is of the one pool buffer; the nonce after a refill is its first 16 bytes.
    const pool = fill.mock.calls[0]![0] as Buffer;
    expect(fill.mock.calls.every(([buffer]) => buffer === pool)).toBe(true);
    expect(Buffer.from(nonces[9]!, "base64url").equals(pool.subarray(0, 16))).toBe(true);
  });

  it("refuses a pool size that is not a positive multiple of 16", () => {
    for (const size of [0, 8, 20, 1.5 * 16]) expect(() => createNonceSource(size)).toThrow(/multiple of 16/);
  });
});

describe("memoryNonceStore", () => {
  it("accepts a nonce once within its lifetime, and again after it", async () => {
    let now = 0;
    const store = memoryNonceStore({ now: () => now });
    expect(await store.claim("n1", 1000)).toBe(true);
    expect(await store.claim("n1", 1000)).toBe(false);
    expect(await store.claim("n2", 1000)).toBe(true);
    now = 1001;
    expect(await store.claim("n1", 1000)).toBe(true);
  });
});
