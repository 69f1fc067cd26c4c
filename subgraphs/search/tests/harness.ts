/** Test harness of the search subgraph: a real server on a free port over a test's private database clone. */
import { createLogger, createMetrics } from "@ecom/observability";
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
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
}

/**
 * Starts the server on 127.0.0.1:0 over `databaseUrl` (a fresh clone from `createTestDatabase`) and indexes
 * `documents` through the read model's own API. Dispose it before the database.
 */
export async function startSearch(databaseUrl: string, documents: readonly SearchDocumentInput[] = []): Promise<SearchHarness> {
  const db = createDatabase(databaseUrl);
  const server = await createServer({
    env: { NODE_ENV: "test", INTERNAL_SECRET: "search-tests-internal-secret" },
    logger: createLogger({ service: "search", level: "silent" }),
    metrics: createMetrics({ service: "search", defaultMetrics: false }),
    db,
  });
  const { url } = await server.listen(0, "127.0.0.1");
  const index = new SearchIndex(db.prisma);
  for (const doc of documents) await index.upsertDocument(doc);
  return {
    url,
    index,
    async gql<T>(query: string, variables: Record<string, unknown> = {}) {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query, variables }),
      });
      return { status: res.status, ...((await res.json()) as Omit<GraphQLResponse<T>, "status">) };
    },
    async [Symbol.asyncDispose]() {
      await server.stop();
      await db.close();
    },
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
