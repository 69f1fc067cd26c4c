/**
 * Request signing for the peer gateways of the bench (stock Apollo gateway, Hive Gateway): the subgraphs answer
 * signed calls only, so any gateway in front of them must sign like ours (gateway/src/fetch/sign.ts) does. Same
 * work per call as ours: one HMAC and one SHA-256 of the body.
 */
import { readFileSync } from "node:fs";
import { createRequestSigner, GATEWAY_CALLER, pairKeyringFromMaster, parseKeyring, type Keyring } from "@ecom/auth";

/** The bench's master keys (SIGNING_KEYS, set by scripts/bench/index.ts). */
export function benchMasterKeys(text: string | undefined): Keyring {
  if (!text) throw new Error("SIGNING_KEYS is not set: the bench passes its master keys to every target");
  return parseKeyring(text);
}

/** Signs a call to `subgraph`: the headers to add. */
export function createBenchSigner(master: Keyring) {
  const signers = new Map<string, ReturnType<typeof createRequestSigner>>();
  return (subgraph: string, url: string, body: string, headers: Record<string, string>): Record<string, string> => {
    let sign = signers.get(subgraph);
    if (!sign) {
      sign = createRequestSigner({
        caller: GATEWAY_CALLER,
        target: subgraph,
        keys: pairKeyringFromMaster(master, GATEWAY_CALLER, subgraph),
      });
      signers.set(subgraph, sign);
    }
    const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
    const parsed = new URL(url);
    return sign({ method: "POST", path: `${parsed.pathname}${parsed.search}`, body, headers: lower });
  };
}

/** Subgraph names by URL, from a supergraph's `@join__graph(name:, url:)` (for gateways that only know URLs). */
export function subgraphNamesByUrl(supergraphPath: string): Map<string, string> {
  const sdl = readFileSync(supergraphPath, "utf8");
  return new Map([...sdl.matchAll(/@join__graph\(name: "([^"]+)", url: "([^"]+)"\)/g)].map((m) => [m[2]!, m[1]!]));
}
