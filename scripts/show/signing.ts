/**
 * Calls to a subgraph as the gateway makes them: signed with K(gateway -> subgraph), derived from the master keys
 * (`SIGNING_KEYS` of the gateway; in development the public development master, as every process of `npm start`
 * uses). Subgraphs refuse unsigned calls with 401, so a show that talks to a subgraph directly signs like the
 * gateway does (packages/auth signing.ts, gateway/src/fetch/sign.ts).
 */
import { createRequestSigner, devMasterKeyring, GATEWAY_CALLER, pairKeyringFromMaster, parseKeyring } from "@ecom/auth";
import { ShowFailure, type Show } from "./lib.ts";

/** The answer of a direct subgraph call. */
export interface SubgraphAnswer {
  status: number;
  body: { data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string; reason?: string } }> };
}

/** Options of {@link callSubgraph}. */
export interface SubgraphCallOptions {
  /** Sign as the gateway. @default true */
  sign?: boolean;
  /** Headers sent (identity headers are covered by the signature). */
  headers?: Record<string, string>;
  /** Sends this body instead of the one signed (a tampered request). */
  tamperedBody?: string;
}

/** POSTs `query` to a subgraph's `/graphql`, signed as the gateway unless told otherwise. */
export async function callSubgraph(
  show: Show,
  subgraph: string,
  url: string,
  payload: { query: string; variables?: Record<string, unknown> },
  options: SubgraphCallOptions = {},
): Promise<SubgraphAnswer> {
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = { "content-type": "application/json", ...options.headers };
  if (options.sign ?? true) {
    const master = show.env.signingKeys ? parseKeyring(show.env.signingKeys) : devMasterKeyring();
    const sign = createRequestSigner({
      caller: GATEWAY_CALLER,
      target: subgraph,
      keys: pairKeyringFromMaster(master, GATEWAY_CALLER, subgraph),
    });
    Object.assign(headers, sign({ method: "POST", path: new URL(url).pathname, body, headers }));
  }
  let res: Response;
  try {
    res = await fetch(url, { method: "POST", headers, body: options.tamperedBody ?? body, signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    throw new ShowFailure(`${subgraph} at ${url} did not answer (${(error as Error).message}): is \`npm start\` running?`);
  }
  return { status: res.status, body: (await res.json().catch(() => ({}))) as SubgraphAnswer["body"] };
}
