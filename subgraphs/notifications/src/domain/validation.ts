import { z } from "@ecom/config";
import { badUserInput } from "@ecom/errors";
import { UUID_PATTERN } from "@ecom/service";

/** Largest `first` of `User.notifications`. */
export const MAX_FIRST = 100;

/** `notify` input rules. Lengths count UTF-16 code units, never more than the database's character count. */
export const notifyInputSchema = z.object({
  userId: z
    .string()
    .regex(UUID_PATTERN, "must be a UUID")
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
