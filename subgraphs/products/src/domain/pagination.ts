import { isUuid } from "@ecom/service";
import type { ProductRecord } from "../datasources/catalog.ts";

/**
 * Position of a product in the catalog order (name, then id). Keyset pagination: the next page starts strictly
 * after this pair, so rows inserted or deleted meanwhile never shift a page (no duplicates, no gaps).
 */
export interface ProductCursor {
  /** name */
  n: string;
  /** id */
  i: string;
}

/** Shape check of a decoded cursor (a tampered one is BAD_USER_INPUT, never a database error). */
export function isProductCursor(value: unknown): value is ProductCursor {
  const v = value as Partial<ProductCursor> | null;
  return typeof v === "object" && v !== null && typeof v.n === "string" && v.n.length <= 200 && typeof v.i === "string" && isUuid(v.i);
}

/** The cursor of a product. */
export const cursorOf = (p: ProductRecord): ProductCursor => ({ n: p.name, i: p.id });

/** A page of products as resolvers see it: `totalCount` is counted only when a client asks for it. */
export interface ProductConnectionRecord {
  edges: Array<{ cursor: string; node: ProductRecord }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: () => Promise<number>;
}
