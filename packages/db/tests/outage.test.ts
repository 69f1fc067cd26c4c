import { describe, expect, it } from "vitest";
import { postgresOutageReason } from "../src/outage.ts";

/** An error shaped like Prisma's (the class is generated per client; its name and fields are what count). */
function prismaError(code: string, meta: Record<string, unknown> = {}) {
  return Object.assign(new Error("Invalid `prisma.user.findMany()` invocation"), { name: "PrismaClientKnownRequestError", code, meta });
}

describe("postgresOutageReason", () => {
  // The shapes seen when stopping a real Postgres under load (see outage.ts).
  it.each([
    ["no server listening (P1001)", prismaError("P1001"), "prisma P1001"],
    ["pool timeout (P2024)", prismaError("P2024"), "prisma P2024"],
    [
      "statement cut by a shutdown (P2010 with SQLSTATE 57P01)",
      prismaError("P2010", { driverAdapterError: { cause: { kind: "postgres", originalCode: "57P01", code: "57P01" } } }),
      "SQLSTATE 57P01",
    ],
    [
      "adapter kind ConnectionClosed",
      prismaError("P2036", { driverAdapterError: { cause: { kind: "ConnectionClosed" } } }),
      "ConnectionClosed",
    ],
    [
      "the pool's own SELECT 1",
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED", syscall: "connect" }),
      "ECONNREFUSED",
    ],
    [
      "a transaction whose connection died",
      new Error("Client has encountered a connection error and is not queryable"),
      expect.any(String),
    ],
    ["pg-pool connect timeout", new Error("timeout exceeded when trying to connect"), expect.any(String)],
    [
      "a server error of the shutdown family",
      Object.assign(new Error("the database system is starting up"), { code: "57P03", severity: "FATAL" }),
      "SQLSTATE 57P03",
    ],
    ["wrapped in a GraphQL error", { message: "x", originalError: prismaError("P1001") }, "prisma P1001"],
  ])("recognises %s", (_, error, reason) => {
    expect(postgresOutageReason(error)).toEqual(reason);
  });

  it.each([
    ["a unique violation", prismaError("P2002")],
    ["a record not found", prismaError("P2025")],
    [
      "a cancelled statement (statement timeout)",
      prismaError("P2010", { driverAdapterError: { cause: { kind: "postgres", originalCode: "57014" } } }),
    ],
    ["a syntax error", Object.assign(new Error("syntax error at or near"), { code: "42601", severity: "ERROR" })],
    ["a plain bug", new TypeError("cannot read properties of undefined")],
    ["not an error at all", "boom"],
  ])("leaves %s alone", (_, error) => {
    expect(postgresOutageReason(error)).toBeUndefined();
  });
});
