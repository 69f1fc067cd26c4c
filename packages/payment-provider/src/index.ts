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

/** Why the provider declined a charge, for each declining token (as sandboxes report a `decline_code`). */
export const DECLINE_CODES: Readonly<Partial<Record<PaymentToken, string>>> = {
  tok_chargeDeclined: "card_declined",
};

/** Smallest and largest amount, in minor units, the provider accepts for one charge. */
export const CHARGE_AMOUNT_LIMITS = { min: 1, max: 10_000_000 } as const;

// ISO-4217 codes in circulation, as the runtime's ICU data lists them (historic codes such as ADP are absent).
const CURRENCIES: ReadonlySet<string> = new Set(Intl.supportedValuesOf("currency"));

/** True for an ISO-4217 currency code the provider charges in (upper case, e.g. `USD`). */
export function isSupportedCurrency(code: string): boolean {
  return /^[A-Z]{3}$/.test(code) && CURRENCIES.has(code);
}
