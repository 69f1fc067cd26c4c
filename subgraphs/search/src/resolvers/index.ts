import { toConnection } from "@ecom/service";
import type { Resolvers } from "../__generated__/resolvers-types.ts";
import type { ProductReference, SearchHit, SearchIndex } from "../datasources/search-index.ts";
import { parseSearchPage } from "../domain/cursor.ts";
import { parseSearchInput } from "../domain/validation.ts";

/** What the resolvers need beyond the request context. */
export interface ResolverDeps {
  index: SearchIndex;
}

const referenceOf = (hit: SearchHit): ProductReference => ({ __typename: "Product", id: hit.productId });

/** The search subgraph's resolvers. */
export function createResolvers(deps: ResolverDeps): Resolvers {
  return {
    Query: {
      search: async (_parent, { query, filter, first, after }) => {
        // Validate everything before touching the database: bad input is BAD_USER_INPUT, never a SQL error.
        const input = parseSearchInput({ query, filter });
        const page = parseSearchPage({ first, after });
        // One extra row tells whether a next page exists.
        const { hits, totalCount } = await deps.index.search({ ...input, after: page.after, limit: page.take + 1 });
        const connection = toConnection(hits, page.take, (hit) => ({ rank: hit.rank, id: hit.productId }), referenceOf);
        return { edges: connection.edges, pageInfo: connection.pageInfo, totalCount };
      },
    },
  };
}
