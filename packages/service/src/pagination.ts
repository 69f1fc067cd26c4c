import { badUserInput } from "@ecom/errors";

/** Relay-style page arguments as the API receives them. */
export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

/** Options of {@link parsePageArgs}. */
export interface PageArgsOptions {
  /** @default 20 */
  defaultFirst?: number;
  /** @default 100 */
  maxFirst?: number;
}

/** Validated page arguments: `take` rows after the decoded cursor value. */
export interface PageRequest<TCursor> {
  take: number;
  after: TCursor | null;
}

/**
 * Opaque cursors: base64url of a JSON value (e.g. `{ "id": "...", "rank": 0.3 }`). Clients must not build them;
 * a tampered cursor is BAD_USER_INPUT, never a database error.
 */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
}

/** Decodes a cursor made by {@link encodeCursor}; `validate` checks its shape. */
export function decodeCursor<T>(cursor: string, validate: (value: unknown) => value is T): T {
  try {
    if (cursor.length > 1024) throw new Error("too long");
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (validate(value)) return value;
  } catch {
    // fall through
  }
  throw badUserInput("after is not a valid cursor (use pageInfo.endCursor from a previous page).", { field: "after" });
}

/** Validates `first` (0..maxFirst) and decodes `after`. */
export function parsePageArgs<TCursor>(
  args: PageArgs,
  validateCursor: (value: unknown) => value is TCursor,
  options: PageArgsOptions = {},
): PageRequest<TCursor> {
  const max = options.maxFirst ?? 100;
  const take = args.first ?? options.defaultFirst ?? 20;
  if (!Number.isInteger(take) || take < 0 || take > max) {
    throw badUserInput(`first must be between 0 and ${max}.`, { field: "first" });
  }
  return { take, after: args.after ? decodeCursor(args.after, validateCursor) : null };
}

/**
 * Builds a connection from `rows` fetched with `take + 1` (the extra row tells whether a next page exists).
 */
export function toConnection<TRow, TNode>(
  rows: readonly TRow[],
  take: number,
  cursorOf: (row: TRow) => unknown,
  nodeOf: (row: TRow) => TNode,
  totalCount?: number,
) {
  const page = rows.slice(0, take);
  const edges = page.map((row) => ({ cursor: encodeCursor(cursorOf(row)), node: nodeOf(row) }));
  return {
    edges,
    pageInfo: { hasNextPage: rows.length > take, endCursor: edges.at(-1)?.cursor ?? null },
    ...(totalCount === undefined ? {} : { totalCount }),
  };
}
