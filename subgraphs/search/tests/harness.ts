/** Test harness of the search subgraph: a real server on a free port over a test's private database clone. */
import { postGraphQL, signedHeaders, startSubgraphForTest } from "@ecom/testing";
import { createDatabase } from "../src/datasources/prisma.ts";
import { SearchIndex, type SearchDocumentInput } from "../src/datasources/search-index.ts";
import { createServer } from "../src/server.ts";

/** A GraphQL response as the tests read it. */
export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; extensions?: { code?: string; field?: string } }>;
}

/** A running search subgraph over a test's database. */
export interface SearchHarness extends AsyncDisposable {
  /** `/graphql` URL. */
  url: string;
  /** The read model, to write documents as event handlers will. */
  index: SearchIndex;
  /** POSTs a GraphQL operation anonymously (search needs no caller). */
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
}

/**
 * Starts the server on 127.0.0.1:0 over `databaseUrl` (a fresh clone from `createTestDatabase`) and indexes
 * `documents` through the read model's own API. Dispose it before the database.
 */
export async function startSearch(databaseUrl: string, documents: readonly SearchDocumentInput[] = []): Promise<SearchHarness> {
  let index: SearchIndex | undefined;
  const running = await startSubgraphForTest({
    service: "search",
    databaseUrl,
    build: async ({ deps }) => {
      const db = createDatabase(databaseUrl);
      index = new SearchIndex(db.prisma);
      return { server: await createServer({ ...deps, db }), close: db.close };
    },
  });
  for (const doc of documents) await index!.upsertDocument(doc);
  return {
    url: running.url,
    index: index!,
    gql: async <T>(query: string, variables: Record<string, unknown> = {}) =>
      (await postGraphQL(running.url, query, variables, signedHeaders("search"))) as GraphQLResponse<T>,
    [Symbol.asyncDispose]: running.stop,
  };
}

/** The `search` field with every argument as a variable. */
export const SEARCH = /* GraphQL */ `
  query Search($query: String!, $filter: SearchFilter, $first: Int, $after: String) {
    search(query: $query, filter: $filter, first: $first, after: $after) {
      totalCount
      edges {
        cursor
        node {
          id
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

/** What {@link SEARCH} returns. */
export interface SearchResult {
  search: {
    totalCount: number;
    edges: Array<{ cursor: string; node: { id: string } }>;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

/** Runs {@link SEARCH}; fails the test on errors. */
export async function search(h: SearchHarness, variables: Record<string, unknown>): Promise<SearchResult["search"]> {
  const res = await h.gql<SearchResult>(SEARCH, variables);
  if (res.errors?.length || !res.data) throw new Error(`search failed: ${JSON.stringify(res.errors)}`);
  return res.data.search;
}

/** Ids of a page, in order. */
export const idsOf = (page: SearchResult["search"]) => page.edges.map((e) => e.node.id);

/** A readable, sortable test id: `00000000-0000-4000-8000-0000000000NN`. */
export const testId = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
