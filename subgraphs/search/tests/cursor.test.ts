import { encodeCursor } from "@ecom/service";
import { describe, expect, it } from "vitest";
import { encodeSearchCursor, isSearchCursor, parseSearchPage } from "../src/domain/cursor.ts";

const id = "5b0e4c1a-7f3d-5e2a-9c41-0d6f8e2b1a37";

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return (error as { extensions?: { code?: string } }).extensions?.code;
  }
  return "no error";
};

describe("search cursors", () => {
  it("round-trips rank and id exactly, rank kept as the decimal text Postgres gave", () => {
    // 1.4 as a float4 is 1.399999976158142 as a float8: the text is kept verbatim, never parsed to a JS number.
    const cursor = { rank: "1.399999976158142", id };
    const decoded = parseSearchPage({ first: 5, after: encodeSearchCursor(cursor) });
    expect(decoded).toEqual({ take: 5, after: cursor });
    expect(typeof decoded.after?.rank).toBe("string");
  });

  it("is opaque: base64url without padding or JSON visible", () => {
    const cursor = encodeSearchCursor({ rank: "0.4000000059604645", id });
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(cursor).not.toContain(id);
  });

  it("accepts ranks of zero, in exponent form and at the float4 limits", () => {
    for (const rank of ["0", "0.000", "1e-05", "2.5E+3", "3.4028234663852886e38", "1.401298464324817e-45", ".5"]) {
      expect(isSearchCursor({ rank, id }), rank).toBe(true);
    }
  });

  it("rejects ranks Postgres could not read as a real (a cast error would be a 500)", () => {
    for (const rank of ["1e999", "1e-999", "-1", "NaN", "Infinity", "", "1.2.3", "0x10", " 1", "1 ", 1.4, null, "1".repeat(41)]) {
      expect(isSearchCursor({ rank, id }), String(rank)).toBe(false);
    }
  });

  it("rejects cursors of any other shape", () => {
    for (const value of [null, [], "x", 1, { rank: "1" }, { id }, { rank: "1", id: "not-a-uuid" }, { rank: "1", id, extra: 1 }]) {
      expect(isSearchCursor(value), JSON.stringify(value)).toBe(false);
    }
  });

  it("turns a tampered or foreign cursor into BAD_USER_INPUT", () => {
    for (const after of ["garbage", "!!!", encodeCursor({ rank: "1e999", id }), encodeCursor({ name: "x", id }), "x".repeat(2000)]) {
      expect(
        codeOf(() => parseSearchPage({ after })),
        after.slice(0, 20),
      ).toBe("BAD_USER_INPUT");
    }
  });

  it("accepts first from 0 to 100 (default 20) and refuses anything else with BAD_USER_INPUT", () => {
    expect(parseSearchPage({}).take).toBe(20);
    expect(parseSearchPage({ first: null }).take).toBe(20);
    expect(parseSearchPage({ first: 0 }).take).toBe(0);
    expect(parseSearchPage({ first: 100 }).take).toBe(100);
    expect(codeOf(() => parseSearchPage({ first: -1 }))).toBe("BAD_USER_INPUT");
    expect(codeOf(() => parseSearchPage({ first: 101 }))).toBe("BAD_USER_INPUT");
  });
});
