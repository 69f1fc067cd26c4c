/**
 * The typed client of the supergraph: `createClient` and the generated documents and types of the main
 * journeys (src/operations/*.graphql, generated with `npm run codegen -w @ecom/client`).
 */
export { createClient, GraphQLRequestError, isGraphQLRequestError } from "./client.ts";
export type { Client, ClientOptions, GraphQLResponseError } from "./client.ts";
export * from "./__generated__/graphql.ts";
