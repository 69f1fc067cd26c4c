/**
 * Bench target (d): Hive Gateway with its defaults; like the stock Apollo gateway, it only passes the identity
 * headers the client sends on to the subgraphs (it does not verify tokens for them).
 */
import { defineConfig } from "@graphql-hive/gateway";

const FORWARDED = ["x-user-id", "x-user-role", "x-internal-secret"];

export const gatewayConfig = defineConfig({
  propagateHeaders: {
    fromClientToSubgraphs: ({ request }) =>
      Object.fromEntries(FORWARDED.flatMap((name) => (request.headers.get(name) === null ? [] : [[name, request.headers.get(name)!]]))),
  },
});
