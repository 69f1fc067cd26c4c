import { describe, expect, it } from "vitest";
import { CHARGE_AMOUNT_LIMITS, chargeOutcome, DECLINE_CODES, isKnownPaymentToken, isSupportedCurrency, TEST_TOKENS } from "../src/index.ts";

describe("payment provider SDK", () => {
  it("knows exactly the sandbox test tokens, and what a charge with each does", () => {
    expect(Object.keys(TEST_TOKENS).sort()).toEqual(["tok_chargeDeclined", "tok_visa"]);
    expect(isKnownPaymentToken("tok_visa") && chargeOutcome("tok_visa")).toBe("captured");
    expect(isKnownPaymentToken("tok_chargeDeclined") && chargeOutcome("tok_chargeDeclined")).toBe("declined");
    for (const token of ["", "tok_mastercard", "TOK_VISA", "toString", "__proto__", "constructor"])
      expect(isKnownPaymentToken(token), token).toBe(false);
  });

  it("gives a decline code for every declining token", () => {
    const declining = Object.entries(TEST_TOKENS).filter(([, outcome]) => outcome === "declined");
    for (const [token] of declining) expect(DECLINE_CODES[token as keyof typeof TEST_TOKENS]).toEqual(expect.any(String));
    expect(CHARGE_AMOUNT_LIMITS).toEqual({ min: 1, max: 10_000_000 });
  });

  it("accepts ISO-4217 codes in circulation, in upper case only", () => {
    for (const code of ["USD", "EUR", "JPY", "GBP", "CHF"]) expect(isSupportedCurrency(code), code).toBe(true);
    for (const code of ["usd", "Usd", "ZZZ", "US", "USDD", "", " USD", "ADP"]) expect(isSupportedCurrency(code), code).toBe(false);
  });
});
