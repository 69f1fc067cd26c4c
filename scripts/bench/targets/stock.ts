/**
 * Bench target (c): stock @apollo/gateway 2.14 on Apollo Server 5 with default settings (its default fetcher,
 * plan cache and data source). The additions are what any deployment in front of these subgraphs needs: the
 * identity headers the client sends (x-user-id, x-user-role) are passed to the subgraphs, because this gateway
 * does not verify tokens itself, and every subgraph call is signed (./signing.ts), as the subgraphs require.
 */
import { readFileSync } from "node:fs";
import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import type { IncomingHttpHeaders } from "node:http";
import { benchTargetEnv } from "../env.ts";
import { benchMasterKeys, createBenchSigner } from "./signing.ts";

const FORWARDED = ["x-user-id", "x-user-role"];
const env = benchTargetEnv();
const sign = createBenchSigner(benchMasterKeys(env.SIGNING_KEYS));

const gateway = new ApolloGateway({
  supergraphSdl: readFileSync(env.SUPERGRAPH_PATH, "utf8"),
  buildService: ({ name, url }) => {
    const source = new RemoteGraphQLDataSource<{ headers: IncomingHttpHeaders }>({
      url,
      willSendRequest({ request, context }) {
        for (const header of FORWARDED) {
          const value = context.headers?.[header];
          if (typeof value === "string") request.http?.headers.set(header, value);
        }
      },
    });
    // The data source hands its fetcher plain headers and the body string: sign there.
    const fetcher = source.fetcher;
    source.fetcher = (target, init = {}) => {
      const headers = (init.headers ?? {}) as Record<string, string>;
      return fetcher(target, { ...init, headers: { ...headers, ...sign(name, target, String(init.body ?? ""), headers) } });
    };
    return source;
  },
});
const server = new ApolloServer<{ headers: IncomingHttpHeaders }>({ gateway });
const { url } = await startStandaloneServer(server, {
  listen: { port: env.PORT, host: env.HOST },
  context: async ({ req }) => ({ headers: req.headers }),
});
console.log(JSON.stringify({ msg: "gateway ready", url }));
const stop = () => void server.stop().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
