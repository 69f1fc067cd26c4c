/**
 * Signed requests in tests: subgraphs accept nothing else. Servers started by the helpers here verify with keys
 * derived from {@link TEST_SIGNING_KEYS}; requests are signed as the gateway would sign them.
 */
import { createHash } from "node:crypto";
import {
  createRequestSigner,
  GATEWAY_CALLER,
  identityToHeaders,
  memoryNonceStore,
  pairKeyringFromMaster,
  serviceKeyring,
  type Identity,
  type Keyring,
} from "@ecom/auth";
import type { SubgraphSigningOptions } from "@ecom/service";

/** The master keys of test servers (public, like the development ones, but distinct from them). */
export const TEST_SIGNING_KEYS: Keyring = [{ kid: "test", key: createHash("sha256").update("ecom-test-signing-master-key").digest() }];

/** Options of {@link signedHeaders}. */
export interface SignedHeadersOptions {
  /** @default TEST_SIGNING_KEYS */
  master?: Keyring;
  /** @default "gateway" */
  caller?: string;
  /** Sign with this K(caller -> target) instead of deriving it from `master`. */
  keys?: Keyring;
  /** @default Date.now */
  now?: () => number;
}

/**
 * Headers of a POST to subgraph `target` as the gateway sends them: the identity headers of `identity` (none when
 * null) and a fresh signature over the body, per request.
 */
export function signedHeaders(
  target: string,
  identity: Identity | null = null,
  options: SignedHeadersOptions = {},
): (body: string, url: URL) => Record<string, string> {
  const caller = options.caller ?? GATEWAY_CALLER;
  const sign = createRequestSigner({
    caller,
    target,
    keys: options.keys ?? pairKeyringFromMaster(options.master ?? TEST_SIGNING_KEYS, caller, target),
    ...(options.now ? { now: options.now } : {}),
  });
  return (body, url) => {
    const headers = { "content-type": "application/json", ...identityToHeaders(identity) };
    return { ...headers, ...sign({ method: "POST", path: `${url.pathname}${url.search}`, body, headers }) };
  };
}

/**
 * The `signing` option of a test subgraph server named `service`: its service keys from `master`, nonces in
 * memory unless a store is given.
 */
export function testSubgraphSigning(
  service: string,
  overrides: Partial<SubgraphSigningOptions> & { master?: Keyring } = {},
): SubgraphSigningOptions {
  const { master, ...rest } = overrides;
  return { keys: serviceKeyring(master ?? TEST_SIGNING_KEYS, service), nonces: memoryNonceStore(), ...rest };
}
