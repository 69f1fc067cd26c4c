import { encodeCursor, isUuid, parsePageArgs, type PageArgs, type PageRequest } from "@ecom/service";

/**
 * A position in a result list ordered by (rank desc, product id asc): the last row of the previous page.
 *
 * `rank` is a string on purpose. ts_rank_cd returns a float4; as a JS number it would come back as a float8 whose
 * value differs from the stored float4 (1.4f is 1.399999976158142 as a float8), and the equality branch of the
 * keyset condition would skip or repeat rows. The string is the rank's decimal text, which Postgres reads back
 * (`::real`) to exactly the same float4.
 */
export interface SearchCursor {
  rank: string;
  id: string;
}

const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const ZERO = /^[0.]+(?:[eE][+-]?\d+)?$/;
// Largest finite float4 and the smallest positive one (subnormal): outside these Postgres' `::real` is an error.
const FLOAT4_MAX = 3.4028234663852886e38;
const FLOAT4_MIN = 1.401298464324817e-45;

/** True when `rank` is a non-negative decimal that Postgres accepts as a `real` (a cast error would be a 500). */
function isRankText(rank: unknown): rank is string {
  if (typeof rank !== "string" || rank.length > 40 || !DECIMAL.test(rank)) return false;
  const n = Number(rank);
  // A literal zero is fine; "1e-999" is also 0 to JS but an underflow error to Postgres.
  if (n === 0) return ZERO.test(rank);
  return n >= FLOAT4_MIN && n <= FLOAT4_MAX;
}

/** Shape check of a decoded cursor (anything else is BAD_USER_INPUT). */
export function isSearchCursor(value: unknown): value is SearchCursor {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const { rank, id, ...rest } = value as Record<string, unknown>;
  return Object.keys(rest).length === 0 && isRankText(rank) && typeof id === "string" && isUuid(id);
}

/** The opaque cursor of a result row. */
export function encodeSearchCursor(cursor: SearchCursor): string {
  return encodeCursor({ rank: cursor.rank, id: cursor.id });
}

/** Validates `first` (0..100) and decodes `after`; BAD_USER_INPUT otherwise. */
export function parseSearchPage(args: PageArgs): PageRequest<SearchCursor> {
  return parsePageArgs(args, isSearchCursor, { defaultFirst: 20, maxFirst: 100 });
}
