import { z } from "@ecom/config";
import { badUserInput } from "@ecom/errors";
import { CHARGE_AMOUNT_LIMITS, isSupportedCurrency } from "@ecom/payment-provider";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A UUID, normalized to lower case (as Postgres prints it) so that request fingerprints compare equal. */
export const uuid = () =>
  z
    .string()
    .regex(UUID, "must be a UUID")
    .transform((id) => id.toLowerCase());

/** Idempotency keys are compared exactly (no trimming): 1 to 255 characters. */
export const idempotencyKey = () => z.string().min(1, "must not be empty").max(255, "must be at most 255 characters");

/** Charge request rules. The token is checked against the provider separately (see the payments service). */
export const chargeRequestSchema = z.object({
  orderId: uuid(),
  buyerId: uuid(),
  amount: z
    .number()
    .int("must be a whole number of minor units")
    .min(CHARGE_AMOUNT_LIMITS.min, `must be at least ${CHARGE_AMOUNT_LIMITS.min}`)
    .max(CHARGE_AMOUNT_LIMITS.max, `must be at most ${CHARGE_AMOUNT_LIMITS.max}`),
  currency: z.string().refine(isSupportedCurrency, "must be an ISO-4217 currency code in upper case, e.g. USD"),
  paymentToken: z.string().min(1, "must not be empty").max(255, "must be at most 255 characters"),
  idempotencyKey: idempotencyKey(),
});

export type ChargeRequest = z.infer<typeof chargeRequestSchema>;

/** Refund request rules (the payment id is checked by the service: an id that is not a UUID is NOT_FOUND). */
export const refundRequestSchema = z.object({
  paymentId: z.string(),
  idempotencyKey: idempotencyKey(),
});

export type RefundRequest = z.infer<typeof refundRequestSchema>;

/**
 * Parses `value` with `schema`; on failure throws BAD_USER_INPUT naming the first offending field (`input.amount`,
 * or `amount` when `root` is empty) and listing every problem in `extensions.problems`.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, root: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => ({ field: [root, ...i.path].filter((p) => p !== "").join("."), message: i.message }));
  const first = problems[0]!;
  throw badUserInput(`${first.field} ${first.message}.`, { field: first.field, problems });
}
