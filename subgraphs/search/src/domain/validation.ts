import { z } from "@ecom/config";
import { parseInput, UUID_PATTERN } from "@ecom/service";

/** Longest accepted search query, in characters. */
export const MAX_QUERY_LENGTH = 200;

const uuid = (what: string) => z.string().regex(UUID_PATTERN, `must be ${what} id (a UUID)`);
const price = z.int().min(0, "must not be negative");

/** The `search` arguments other than paging. */
export const searchInputSchema = z.object({
  query: z
    .string()
    .max(MAX_QUERY_LENGTH, `must be at most ${MAX_QUERY_LENGTH} characters`)
    // Postgres text cannot hold NUL: it would be a database error (a 500), not an empty result.
    .refine((q) => !q.includes("\u0000"), "must not contain NUL characters")
    .trim()
    .min(1, "must not be empty"),
  filter: z
    .object({
      categoryId: uuid("a category").nullish(),
      minPrice: price.nullish(),
      maxPrice: price.nullish(),
      inStock: z.boolean().nullish(),
    })
    .nullish()
    .superRefine((f, ctx) => {
      if (f?.minPrice != null && f.maxPrice != null && f.minPrice > f.maxPrice) {
        ctx.addIssue({ code: "custom", path: ["minPrice"], message: "must not be greater than filter.maxPrice" });
      }
    }),
});

/** Filters of a search; null means "any". Prices are minor units, both bounds inclusive. */
export interface SearchFilter {
  categoryId: string | null;
  minPrice: number | null;
  maxPrice: number | null;
  inStock: boolean | null;
}

/** A validated search: the trimmed query text and the filters. */
export interface SearchInput {
  text: string;
  filter: SearchFilter;
}

/**
 * Validates the `search` arguments; on failure throws BAD_USER_INPUT naming the first offending argument
 * (`query`, `filter.minPrice`...) and listing every problem in `extensions.problems`.
 */
export function parseSearchInput(args: { query: string; filter?: unknown }): SearchInput {
  const data = parseInput(searchInputSchema, args);
  const f = data.filter;
  return {
    text: data.query,
    filter: {
      categoryId: f?.categoryId ?? null,
      minPrice: f?.minPrice ?? null,
      maxPrice: f?.maxPrice ?? null,
      inStock: f?.inStock ?? null,
    },
  };
}

/** A product as the search read model stores it, as product events (and the seed) deliver it. */
export const searchDocumentSchema = z.object({
  productId: uuid("a product"),
  name: z.string().min(1).max(1000),
  description: z.string().max(20_000),
  categoryId: uuid("a category"),
  priceAmount: z.int().min(0),
  currency: z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code"),
  /** Omitted by product events (stock is inventory's): a new document is then out of stock until a stock event. */
  inStock: z.boolean().optional(),
});

export type SearchDocumentInput = z.input<typeof searchDocumentSchema>;
