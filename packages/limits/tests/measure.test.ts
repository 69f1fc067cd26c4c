import { parse } from "graphql";
import { describe, expect, it } from "vitest";
import { measureOperation, scanDocument } from "../src/index.ts";
import { fragmentBomb, operationOf } from "./fixtures.ts";

const measure = (query: string, ignoreIntrospection = false) => {
  const { document, operation } = operationOf(query);
  return measureOperation(document, operation, { ignoreIntrospection });
};

describe("scanDocument", () => {
  it("counts tokens as graphql-js's maxTokens does (comments are not tokens)", () => {
    const text = "query Q($a: Int) { me { id } } # a comment";
    const scan = scanDocument(text);
    expect(scan).toEqual({ tokens: 14, nesting: 2, lexable: true });
    expect(() => parse(text, { maxTokens: 14 })).not.toThrow();
    expect(() => parse(text, { maxTokens: 13 })).toThrow(/more that 13 tokens/);
  });

  it("measures the nesting of braces, brackets and parentheses", () => {
    expect(scanDocument("{ a(x: [[{ y: [1] }]]) { b } }").nesting).toBe(6);
  });

  it("walks a document 100,000 brackets deep without recursion (where parse overflows the stack)", () => {
    const deep = `{ a(x: ${"[".repeat(100_000)}1${"]".repeat(100_000)}) }`;
    expect(() => parse(deep)).toThrow(/Maximum call stack size exceeded/);
    const scan = scanDocument(deep);
    expect(scan.nesting).toBe(100_002);
    expect(scan.lexable).toBe(true);
  });

  it("reports a lexical error instead of throwing (the parser will answer GRAPHQL_PARSE_FAILED)", () => {
    expect(scanDocument('{ a(x: "unterminated) }')).toMatchObject({ lexable: false });
    expect(scanDocument("{ \u0007 }")).toMatchObject({ lexable: false });
  });

  it("can stop after a number of tokens", () => {
    expect(scanDocument("{ a b c d e f }", 3).tokens).toBe(3);
  });
});

describe("measureOperation", () => {
  it("measures depth, fields, aliases, root fields and directives", () => {
    expect(measure("{ me { id name orders { edges { node { id } } } } }")).toEqual({
      depth: 5,
      nesting: 5,
      fields: 7,
      aliases: 0,
      rootFields: 1,
      directives: 0,
    });
    expect(measure("query ($s: Boolean!) @q { a: me @skip(if: $s) { id } b: me { n: name @include(if: true) } }")).toMatchObject({
      fields: 4,
      aliases: 3,
      rootFields: 2,
      directives: 3,
    });
  });

  it("expands fragments and inline fragments: spread twice, counted twice", () => {
    const query = "{ me { ...U ...U ... on User { id } } } fragment U on User { a: id orders { totalCount } }";
    expect(measure(query)).toMatchObject({ fields: 1 + 3 + 3 + 1, aliases: 2, depth: 3, rootFields: 1 });
  });

  it("counts root fields through fragments", () => {
    expect(measure("{ ...R ... on Query { c: me { id } } } fragment R on Query { a: me { id } b: me { id } }").rootFields).toBe(3);
  });

  it("measures a 2^16 fragment bomb without expanding it", () => {
    const started = performance.now();
    const measured = measure(fragmentBomb(16));
    expect(measured.fields).toBe(2 ** 16);
    expect(measured.nesting).toBe(1 + 2 * 17);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(measure(fragmentBomb(60)).fields).toBe(2 ** 60);
  });

  it("treats an unknown fragment as empty and cuts a fragment cycle (unvalidated documents)", () => {
    expect(measure("{ ...Missing me { id } }").fields).toBe(2);
    expect(measure("{ ...A } fragment A on Query { me { ...B } } fragment B on User { id ...A }").fields).toBeGreaterThan(0);
  });

  it("leaves introspection out when asked to", () => {
    const query = "{ __schema { types { name fields { name type { ofType { ofType { name } } } } } } me { id } }";
    expect(measure(query).depth).toBe(7);
    expect(measure(query, true)).toMatchObject({ depth: 2, fields: 2, rootFields: 1 });
  });
});
