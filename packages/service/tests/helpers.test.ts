import { GraphQLError, Kind } from "graphql";
import { describe, expect, it } from "vitest";
import { z } from "@ecom/config";
import { DateTimeScalar, decodeCursor, encodeCursor, isUuid, parseInput, parsePageArgs, toConnection } from "@ecom/service";

const isIdCursor = (v: unknown): v is { id: string } =>
  typeof v === "object" && v !== null && typeof (v as { id?: unknown }).id === "string";

function codeAndField(fn: () => unknown) {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(GraphQLError);
    return (error as GraphQLError).extensions;
  }
  throw new Error("expected a GraphQLError");
}

describe("cursors and page arguments", () => {
  it("round-trips a cursor value", () => {
    const cursor = encodeCursor({ id: "p-1", rank: 0.25 });
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor, isIdCursor)).toEqual({ id: "p-1", rank: 0.25 });
  });

  it.each([
    ["garbage", "%%%not-base64"],
    ["valid base64 of non-JSON", Buffer.from("hello").toString("base64url")],
    ["JSON of the wrong shape", encodeCursor({ rank: 1 })],
    ["an over-long cursor", encodeCursor({ id: "x".repeat(2000) })],
  ])("answers BAD_USER_INPUT on the after field for %s", (_label, cursor) => {
    expect(codeAndField(() => decodeCursor(cursor, isIdCursor))).toEqual({ code: "BAD_USER_INPUT", field: "after" });
  });

  it("defaults first to 20 and accepts 0..maxFirst", () => {
    expect(parsePageArgs({}, isIdCursor)).toEqual({ take: 20, after: null });
    expect(parsePageArgs({ first: null, after: null }, isIdCursor, { defaultFirst: 5 })).toEqual({ take: 5, after: null });
    expect(parsePageArgs({ first: 0 }, isIdCursor).take).toBe(0);
    expect(parsePageArgs({ first: 100 }, isIdCursor).take).toBe(100);
    expect(parsePageArgs({ first: 3, after: encodeCursor({ id: "a" }) }, isIdCursor)).toEqual({ take: 3, after: { id: "a" } });
  });

  it.each([-1, 101, 2.5])("refuses first = %d with BAD_USER_INPUT", (first) => {
    expect(codeAndField(() => parsePageArgs({ first }, isIdCursor))).toEqual({ code: "BAD_USER_INPUT", field: "first" });
  });

  it("builds a connection from take + 1 rows", () => {
    const rows = [{ id: "a" }, { id: "b" }, { id: "c" }];
    const page = toConnection(
      rows,
      2,
      (r) => ({ id: r.id }),
      (r) => r.id.toUpperCase(),
      7,
    );
    expect(page.edges.map((e) => e.node)).toEqual(["A", "B"]);
    expect(page.pageInfo).toEqual({ hasNextPage: true, endCursor: encodeCursor({ id: "b" }) });
    expect(page.totalCount).toBe(7);
    const last = toConnection(
      rows.slice(0, 2),
      2,
      (r) => ({ id: r.id }),
      (r) => r.id,
    );
    expect(last.pageInfo.hasNextPage).toBe(false);
    expect(last).not.toHaveProperty("totalCount");
    expect(
      toConnection(
        [],
        2,
        () => 0,
        () => 0,
      ).pageInfo,
    ).toEqual({ hasNextPage: false, endCursor: null });
  });
});

describe("DateTimeScalar", () => {
  it("serializes dates (and date strings/numbers) as ISO-8601 in UTC", () => {
    expect(DateTimeScalar.serialize(new Date("2026-01-31T12:00:00+02:00"))).toBe("2026-01-31T10:00:00.000Z");
    expect(DateTimeScalar.serialize("2026-01-31T12:00:00Z")).toBe("2026-01-31T12:00:00.000Z");
    expect(DateTimeScalar.serialize(0)).toBe("1970-01-01T00:00:00.000Z");
    expect(() => DateTimeScalar.serialize(new Date("nope"))).toThrow(/cannot represent/);
  });

  it.each(["2026-01-31T12:00:00Z", "2026-01-31T12:00:00.123456Z", "2024-02-29T23:59:59+05:30", "2026-12-31T00:00:00-08:00"])(
    "accepts %s",
    (value) => {
      expect(DateTimeScalar.parseValue(value)).toEqual(new Date(value));
      expect(DateTimeScalar.parseLiteral({ kind: Kind.STRING, value })).toEqual(new Date(value));
    },
  );

  it.each([
    "2026-02-30T00:00:00Z",
    "2025-02-29T00:00:00Z",
    "2026-04-31T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "2026-01-01T24:00:00Z",
    "2026-01-01T12:00:00",
    "2026-01-01",
    "yesterday",
    "2026-01-01T12:00:00+25:00",
  ])("refuses %s with BAD_USER_INPUT", (value) => {
    expect(codeAndField(() => DateTimeScalar.parseValue(value))).toEqual({ code: "BAD_USER_INPUT" });
  });

  it("refuses non-string input", () => {
    expect(codeAndField(() => DateTimeScalar.parseValue(1700000000000))).toEqual({ code: "BAD_USER_INPUT" });
    expect(codeAndField(() => DateTimeScalar.parseLiteral({ kind: Kind.INT, value: "1" }))).toEqual({ code: "BAD_USER_INPUT" });
  });
});

describe("input validation", () => {
  it.each(["00000000-0000-4000-8000-00000000000a", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"])("takes %s for a UUID", (id) => {
    expect(isUuid(id)).toBe(true);
  });

  it.each([
    "",
    "42",
    "not-a-uuid",
    "00000000-0000-4000-8000-00000000000",
    "00000000-0000-4000-8000-00000000000a ",
    "{00000000-0000-4000-8000-00000000000a}",
  ])("refuses %j as a UUID", (id) => {
    expect(isUuid(id)).toBe(false);
  });

  const schema = z.object({
    name: z.string().min(1, "must not be empty"),
    items: z.array(z.object({ quantity: z.int().min(1, "must be at least 1") })),
  });

  it("returns the parsed value", () => {
    expect(parseInput(schema, { name: "a", items: [{ quantity: 1 }] }, "input")).toEqual({ name: "a", items: [{ quantity: 1 }] });
  });

  it("names the first offending field under the root and lists every problem", () => {
    expect(codeAndField(() => parseInput(schema, { name: "", items: [{ quantity: 1 }, { quantity: 0 }] }, "input"))).toEqual({
      code: "BAD_USER_INPUT",
      field: "input.name",
      problems: [
        { field: "input.name", message: "must not be empty" },
        { field: "input.items.1.quantity", message: "must be at least 1" },
      ],
    });
  });

  it("names fields without a prefix when there is no root (arguments validated together)", () => {
    const error = codeAndField(() => parseInput(schema, { name: "a", items: [{ quantity: 0 }] }));
    expect(error).toMatchObject({ code: "BAD_USER_INPUT", field: "items.0.quantity" });
  });

  it("puts the field and the problem in the message", () => {
    expect(() => parseInput(schema, { name: "", items: [] }, "input")).toThrow("input.name must not be empty.");
  });
});
