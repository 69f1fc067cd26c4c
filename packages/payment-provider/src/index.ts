/**
 * The simulated card provider's SDK (think of a payment sandbox's client library). Shared by the orders
 * subgraph, which rejects unknown tokens up front, and the payments subgraph, which charges and refunds.
 */

/** Test tokens and the outcome of a charge made with them (API.md). */
export const TEST_TOKENS = {
  /** The charge is captured. */
  tok_visa: "captured",
  /** The card is declined. */
  tok_chargeDeclined: "declined",
} as const;

export type PaymentToken = keyof typeof TEST_TOKENS;
export type ChargeOutcome = (typeof TEST_TOKENS)[PaymentToken];

/** True for a token the provider knows. Anything else is a BAD_USER_INPUT for callers. */
export function isKnownPaymentToken(token: string): token is PaymentToken {
  return Object.hasOwn(TEST_TOKENS, token);
}

/** What a charge with `token` does at the provider. */
export function chargeOutcome(token: PaymentToken): ChargeOutcome {
  return TEST_TOKENS[token];
}
