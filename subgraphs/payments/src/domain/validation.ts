import { z } from "@ecom/config";
import { CHARGE_AMOUNT_LIMITS, isSupportedCurrency } from "@ecom/payment-provider";
import { UUID_PATTERN } from "@ecom/service";

/** A UUID, normalized to lower case (as Postgres prints it) so that request fingerprints compare equal. */
export const uuid = () =>
  z
    .string()
    .regex(UUID_PATTERN, "must be a UUID")
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
