/**
 * Bench target (c): stock @apollo/gateway 2.14 on Apollo Server 5 with default settings (its default fetcher,
 * plan cache and data source). The one addition is what any deployment in front of these subgraphs needs: the
 * identity headers the client sends (x-user-id, x-user-role, x-internal-secret) are passed to the subgraphs,
 * because this gateway does not verify tokens itself.
 */
import { readFileSync } from "node:fs";
import { ApolloGateway, RemoteGraphQLDataSource } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import type { IncomingHttpHeaders } from "node:http";
import { benchTargetEnv } from "../env.ts";

const FORWARDED = ["x-user-id", "x-user-role", "x-internal-secret"];
const env = benchTargetEnv();

const gateway = new ApolloGateway({
  supergraphSdl: readFileSync(env.SUPERGRAPH_PATH, "utf8"),
  buildService: ({ url }) =>
    new RemoteGraphQLDataSource<{ headers: IncomingHttpHeaders }>({
      url,
      willSendRequest({ request, context }) {
        for (const name of FORWARDED) {
          const value = context.headers?.[name];
          if (typeof value === "string") request.http?.headers.set(name, value);
        }
      },
    }),
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
