/**
 * Bench target (d): Hive Gateway with its defaults; like the stock Apollo gateway, it only passes the identity
 * headers the client sends on to the subgraphs (it does not verify tokens for them), and signs every subgraph call
 * (./signing.ts) as the subgraphs require.
 */
import { defineConfig } from "@graphql-hive/gateway";
import { benchMasterKeys, createBenchSigner, subgraphNamesByUrl } from "./signing.ts";

const FORWARDED = ["x-user-id", "x-user-role"];
const env = process.env;
const sign = createBenchSigner(benchMasterKeys(env["SIGNING_KEYS"]));
const names = subgraphNamesByUrl(env["SUPERGRAPH_PATH"] ?? "");

export const gatewayConfig = defineConfig({
  propagateHeaders: {
    fromClientToSubgraphs: ({ request }) =>
      Object.fromEntries(FORWARDED.flatMap((name) => (request.headers.get(name) === null ? [] : [[name, request.headers.get(name)!]]))),
  },
  plugins: () => [
    {
      onFetch({ url, options, setOptions }) {
        const subgraph = names.get(url);
        if (!subgraph || typeof options.body !== "string") return;
        const headers = { ...(options.headers as Record<string, string> | undefined) };
        setOptions({ ...options, headers: { ...headers, ...sign(subgraph, url, options.body, headers) } });
      },
    },
  ],
});
