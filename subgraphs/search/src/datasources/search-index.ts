import { isUuid } from "@ecom/service";
import { Prisma, type PrismaClient } from "../generated/prisma/client.ts";
import type { SearchCursor } from "../domain/cursor.ts";
import { searchDocumentSchema, type SearchDocumentInput, type SearchFilter } from "../domain/validation.ts";

export type { SearchDocumentInput };

/** A product as search returns it: a reference the gateway completes from the products and inventory subgraphs. */
export interface ProductReference {
  __typename: "Product";
  id: string;
}

/** One match: the product and its rank, as text (see {@link SearchCursor}). */
export interface SearchHit {
  productId: string;
  rank: string;
}

/** What {@link SearchIndex.search} is asked. */
export interface SearchQuery {
  /** Web-search syntax, passed to websearch_to_tsquery (never parsed here). */
  text: string;
  filter: SearchFilter;
  /** Rows strictly after this position. */
  after: SearchCursor | null;
  /** At most this many hits. */
  limit: number;
}

/** A page of hits and the number of matches across all pages (same query and filters, no cursor). */
export interface SearchPage {
  hits: SearchHit[];
  totalCount: number;
}

/** Thrown by {@link SearchIndex.upsertDocument} for a document that does not validate (a bad event). */
export class InvalidSearchDocumentError extends Error {
  readonly brand = "InvalidSearchDocumentError" as const;
  constructor(readonly problems: readonly string[]) {
    super(`Invalid search document: ${problems.join("; ")}`);
  }
}

/** True when `error` is an {@link InvalidSearchDocumentError}. */
export const isInvalidSearchDocumentError = (error: unknown): error is InvalidSearchDocumentError =>
  (error as { brand?: unknown } | null)?.brand === "InvalidSearchDocumentError";

// The text-search configuration of the generated column (see the init migration): query and documents must
// be normalized the same way, or stemmed words would never match.
const CONFIG = Prisma.sql`'english'::regconfig`;

/**
 * The search read model: one document per product, written by the seed and (later) by product and stock event
 * handlers through {@link upsertDocument}, {@link setStock} and {@link removeDocument}; read by {@link search}.
 */
export class SearchIndex {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Creates or replaces the document of a product. `inStock` is optional because product events do not carry
   * stock: when omitted, an existing document keeps its stock flag and a new one starts out of stock.
   * @throws InvalidSearchDocumentError when the document does not validate.
   */
  async upsertDocument(doc: SearchDocumentInput): Promise<void> {
    await this.upsertDocuments([doc]);
  }

  /**
   * {@link upsertDocument} for many documents in one transaction (seed, batches of events): all or none.
   * @throws InvalidSearchDocumentError when any document does not validate (nothing is written).
   */
  async upsertDocuments(docs: readonly SearchDocumentInput[]): Promise<void> {
    const writes = docs.map((doc) => {
      const parsed = searchDocumentSchema.safeParse(doc);
      if (!parsed.success) throw new InvalidSearchDocumentError(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
      const { productId, inStock, ...fields } = parsed.data;
      return this.prisma.searchDocument.upsert({
        where: { productId },
        create: { productId, ...fields, inStock: inStock ?? false },
        update: { ...fields, ...(inStock === undefined ? {} : { inStock }) },
      });
    });
    if (writes.length > 0) await this.prisma.$transaction(writes);
  }

  /** Sets whether a product is in stock. Resolves false when the product has no document (nothing changed). */
  async setStock(productId: string, inStock: boolean): Promise<boolean> {
    if (!isUuid(productId)) return false;
    const { count } = await this.prisma.searchDocument.updateMany({ where: { productId }, data: { inStock } });
    return count > 0;
  }

  /** Deletes a product's document. Resolves false when there was none. */
  async removeDocument(productId: string): Promise<boolean> {
    if (!isUuid(productId)) return false;
    const { count } = await this.prisma.searchDocument.deleteMany({ where: { productId } });
    return count > 0;
  }

  /** Number of documents (seed checks, tests). */
  count(): Promise<number> {
    return this.prisma.searchDocument.count();
  }

  /**
   * One page of matches, best first: ordered by rank (desc) then product id (asc), a total order, so keyset
   * pagination on (rank, id) visits every match exactly once. One statement: the page and the total count see
   * the same snapshot.
   */
  async search(query: SearchQuery): Promise<SearchPage> {
    const { text, filter, after, limit } = query;
    const conditions = [Prisma.sql`d.search_vector @@ q.query`];
    if (filter.categoryId !== null) conditions.push(Prisma.sql`d.category_id = ${filter.categoryId}::uuid`);
    if (filter.minPrice !== null) conditions.push(Prisma.sql`d.price_amount >= ${filter.minPrice}::int`);
    if (filter.maxPrice !== null) conditions.push(Prisma.sql`d.price_amount <= ${filter.maxPrice}::int`);
    if (filter.inStock !== null) conditions.push(Prisma.sql`d.in_stock = ${filter.inStock}::boolean`);
    // Rows after (rank, id) in (rank desc, id asc) order. The cursor's rank text reads back as the same float4.
    const afterCursor = after
      ? Prisma.sql`WHERE m.rank < ${after.rank}::real OR (m.rank = ${after.rank}::real AND m.product_id > ${after.id}::uuid)`
      : Prisma.empty;

    // websearch_to_tsquery never fails on user input (quotes, or, -word; operators are treated as text).
    // ts_rank_cd with its default weights {D 0.1, C 0.2, B 0.4, A 1.0}: a name (A) match outweighs a description
    // (B) one, and more matches rank higher. The rank goes out as float8 text: at least 15 significant digits
    // even if extra_float_digits were lowered, which always reads back (`::real`) to the same float4.
    const rows = await this.prisma.$queryRaw<Array<{ total: number; id: string | null; rank: string | null }>>`
      WITH q AS (
        SELECT websearch_to_tsquery(${CONFIG}, ${text}) AS query
      ), matches AS (
        SELECT d.product_id, ts_rank_cd(d.search_vector, q.query) AS rank
        FROM search_documents d CROSS JOIN q
        WHERE ${Prisma.join(conditions, " AND ")}
      ), page AS (
        SELECT m.product_id, m.rank
        FROM matches m
        ${afterCursor}
        ORDER BY m.rank DESC, m.product_id ASC
        LIMIT ${limit}::int
      )
      SELECT c.total, p.product_id::text AS id, p.rank::float8::text AS rank
      FROM (SELECT count(*)::int AS total FROM matches) c
      LEFT JOIN page p ON true
      ORDER BY p.rank DESC, p.product_id ASC`;

    const hits = rows.flatMap((r) => (r.id !== null && r.rank !== null ? [{ productId: r.id, rank: r.rank }] : []));
    return { hits, totalCount: rows[0]?.total ?? 0 };
  }
}

/** The DataLoaders of one request: none, search returns references and looks nothing up by id. */
export type Loaders = Record<string, never>;

/** Fresh loaders for one request. */
export function createLoaders(): Loaders {
  return {};
}
