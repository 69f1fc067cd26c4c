/** The label value every value past the bound shares. */
export const OTHER_LABEL = "__other__";

/** Options of {@link createBoundedLabel}. */
export interface BoundedLabelOptions {
  /**
   * Most distinct values kept, besides `known` ones.
   * @default 200
   */
  max?: number;
  /** Values always kept as themselves, whatever the bound (e.g. the operations of the platform's own clients). */
  known?: Iterable<string>;
  /**
   * Values that may become labels at all; others are {@link OTHER_LABEL} at once.
   * @default GraphQL names of at most 64 characters
   */
  accept?: (value: string) => boolean;
}

const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]{0,63}$/;

/**
 * Maps label values a client controls (operation names, error codes) to a bounded set, so no client can create
 * any number of metric series: the first `max` distinct values are kept as they are, every later one is
 * {@link OTHER_LABEL}. Kept values are never evicted: evicting would drop a live series and reset its counters
 * mid-flight (an LRU would make dashboards lie), while "first come" only means a flood of made-up names after a
 * restart fills the table and later new names share `__other__`, which the `known` values (the operations of
 * the platform's clients) are immune to. Memory is bounded by `max` either way.
 */
export function createBoundedLabel(options: BoundedLabelOptions = {}): (value: string) => string {
  const max = options.max ?? 200;
  const accept = options.accept ?? ((value: string) => GRAPHQL_NAME.test(value));
  const known = new Set(options.known ?? []);
  const seen = new Set<string>();
  return (value) => {
    if (known.has(value) || seen.has(value)) return value;
    if (!accept(value) || seen.size >= max) return OTHER_LABEL;
    seen.add(value);
    return value;
  };
}
