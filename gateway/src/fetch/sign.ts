/**
 * The signing stage of the subgraph call path (see pipeline.ts), between instance choice and transport: every
 * subgraph request, anonymous ones included, gets a fresh signature (timestamp, nonce, HMAC over method, path,
 * body digest and identity headers) made with K(gateway -> subgraph), derived from the master keys (the first
 * signs; see @ecom/auth signing.ts). Being inside the retries, each attempt is signed anew, so a retried mutation
 * is not refused as a replay of the first attempt.
 */
import { createRequestSigner, GATEWAY_CALLER, pairKeyringFromMaster, type Keyring } from "@ecom/auth";
import type { SubgraphFetchStage } from "./pipeline.ts";

/** Options of {@link createSigning}. */
export interface SigningStageOptions {
  /** The master keys (the gateway's SIGNING_KEYS). */
  masterKeys: Keyring;
  /** @default Date.now */
  now?: () => number;
}

/** The `signing` option of the call path: one signing stage per subgraph. */
export function createSigning(options: SigningStageOptions): (subgraph: string) => SubgraphFetchStage {
  return (subgraph) => {
    const sign = createRequestSigner({
      caller: GATEWAY_CALLER,
      target: subgraph,
      keys: pairKeyringFromMaster(options.masterKeys, GATEWAY_CALLER, subgraph),
      ...(options.now ? { now: options.now } : {}),
    });
    // The URL is the same for every call to an instance: parse each once.
    const paths = new Map<string, string>();
    return (next) =>
      (url, init = {}) => {
        let path = paths.get(url);
        if (path === undefined) {
          const parsed = new URL(url);
          path = `${parsed.pathname}${parsed.search}`;
          if (paths.size > 1000) paths.clear();
          paths.set(url, path);
        }
        const headers = (init.headers ?? {}) as Record<string, string>;
        const body = typeof init.body === "string" || init.body instanceof Uint8Array ? init.body : undefined;
        // A new headers object: the caller's is left as it was (each retry is signed afresh from it).
        return next(url, { ...init, headers: { ...headers, ...sign({ method: init.method ?? "POST", path, body, headers }) } });
      };
  };
}
