/**
 * Input validation every subgraph shares: id checks before anything reaches Postgres, and zod schemas turned into
 * BAD_USER_INPUT errors with one field-path format across the API.
 */
import type { z } from "@ecom/config";
import { badUserInput } from "@ecom/errors";

/** A UUID of any version, in either case (Postgres accepts both and prints lower case). */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * True when `id` is a UUID. Ids are UUIDs: anything else cannot exist, and must not reach Postgres, where the
 * uuid cast error would be a 500 instead of a null or NOT_FOUND.
 */
export const isUuid = (id: string): boolean => UUID_PATTERN.test(id);

/** One entry of `extensions.problems` of a {@link parseInput} error. */
export interface InputProblem {
  /** Path of the offending value, e.g. `input.items.0.quantity`. */
  field: string;
  message: string;
}

/**
 * Parses `value` with `schema`; on failure throws BAD_USER_INPUT naming the first offending field in its message
 * and `extensions.field`, and listing every problem in `extensions.problems`.
 *
 * Field paths are `root` followed by the schema path, dot-separated, array indices included: `input.items.0.quantity`
 * with `root` `"input"` (an input object argument), `quantity` without a root (arguments validated together).
 *
 * @example const data = parseInput(createProductInputSchema, input, "input");
 * @throws GraphQLError BAD_USER_INPUT
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, root = ""): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems: InputProblem[] = result.error.issues.map((issue) => ({
    field: [root, ...issue.path.map(String)].filter((part) => part !== "").join("."),
    message: issue.message,
  }));
  const first = problems[0]!;
  throw badUserInput(`${first.field} ${first.message}.`, { field: first.field, problems });
}
