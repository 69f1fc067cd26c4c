import { z } from "@ecom/config";
import { badUserInput } from "@ecom/errors";

/** Register input rules. Emails are compared in lower case. */
export const registerInputSchema = z.object({
  email: z
    .string()
    .trim()
    .max(254, "must be at most 254 characters")
    .pipe(z.email({ error: "must be a valid email address" }))
    .transform((e) => e.toLowerCase()),
  password: z.string().min(8, "must be at least 8 characters").max(128, "must be at most 128 characters"),
  name: z.string().trim().min(1, "must not be empty").max(100, "must be at most 100 characters"),
});

export type RegisterInput = z.infer<typeof registerInputSchema>;

/**
 * Parses `value` with `schema`; on failure throws BAD_USER_INPUT naming the first offending field
 * (`input.email`) and listing every problem in `extensions.problems`.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, root: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => ({ field: [root, ...i.path].join("."), message: i.message }));
  const first = problems[0]!;
  throw badUserInput(`${first.field} ${first.message}.`, { field: first.field, problems });
}
