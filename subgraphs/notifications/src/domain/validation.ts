import { z } from "@ecom/config";
import { badUserInput } from "@ecom/errors";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Largest `first` of `User.notifications`. */
export const MAX_FIRST = 100;

/** `notify` input rules. Lengths count UTF-16 code units, never more than the database's character count. */
export const notifyInputSchema = z.object({
  userId: z
    .string()
    .regex(UUID, "must be a UUID")
    .transform((id) => id.toLowerCase()),
  channel: z.enum(["EMAIL", "SMS", "PUSH"], { error: "must be EMAIL, SMS or PUSH" }),
  subject: z.string().min(1, "must not be empty").max(200, "must be at most 200 characters"),
  body: z.string().min(1, "must not be empty").max(10_000, "must be at most 10000 characters"),
  dedupeKey: z.string().min(1, "must not be empty").max(255, "must be at most 255 characters"),
});

export type NotifyInput = z.input<typeof notifyInputSchema>;

/** Validates `first` (0..100). @throws BAD_USER_INPUT */
export function parseFirst(first: number | null | undefined, defaultFirst = 20): number {
  const take = first ?? defaultFirst;
  if (!Number.isInteger(take) || take < 0 || take > MAX_FIRST) {
    throw badUserInput(`first must be between 0 and ${MAX_FIRST}.`, { field: "first" });
  }
  return take;
}

/**
 * Parses `value` with `schema`; on failure throws BAD_USER_INPUT naming the first offending field (prefixed with
 * `root` when given) and listing every problem in `extensions.problems`.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, root = ""): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => ({ field: [root, ...i.path].filter((p) => p !== "").join("."), message: i.message }));
  const first = problems[0]!;
  throw badUserInput(`${first.field} ${first.message}.`, { field: first.field, problems });
}
