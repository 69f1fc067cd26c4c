import type { z } from "@ecom/config";
import { badUserInput } from "@ecom/errors";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Ids are UUIDs; anything else cannot exist (and must not reach Postgres as a uuid cast error). */
export const isUuid = (id: string): boolean => UUID.test(id);

/**
 * Parses `value` with `schema`; on failure throws BAD_USER_INPUT naming the first offending field
 * (`input.items.0.quantity`) and listing every problem in `extensions.problems`. (The same contract as the
 * users subgraph's helper: subgraphs do not import each other.)
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, root: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => ({ field: [root, ...i.path].join("."), message: i.message }));
  const first = problems[0]!;
  throw badUserInput(`${first.field} ${first.message}.`, { field: first.field, problems });
}
