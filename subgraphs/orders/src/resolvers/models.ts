import type { OrderRecord } from "../datasources/orders.ts";

/** A user as this subgraph knows one: a reference by id (the users subgraph owns the rest). */
export interface UserRef {
  __typename?: "User";
  id: string;
}

/** A product reference; the products subgraph resolves its fields. */
export interface ProductRef {
  __typename: "Product";
  id: string;
}

/** What `User.orders` returns; `totalCount` is counted only when asked for. */
export interface OrderConnectionParent {
  edges: Array<{ cursor: string; node: OrderRecord }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  /** Whose orders; null for a connection the caller may not see (always empty). */
  buyerId: string | null;
}
