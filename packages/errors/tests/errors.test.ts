import { GraphQLError, buildSchema, graphql, type GraphQLFormattedError } from "graphql";
import { describe, expect, it, vi } from "vitest";
import {
  ErrorCode,
  badUserInput,
  codedError,
  createErrorFormatter,
  errorCodeOf,
  forbidden,
  hasErrorCode,
  insufficientStock,
  notFound,
  unauthenticated,
} from "@ecom/errors";

const DB_ERROR = 'duplicate key value violates unique constraint "User_email_key" (password_hash=abc)';

/** What Apollo Server hands formatError when includeStacktraceInErrorResponses is on. */
function formattedWithStack(error: GraphQLError): GraphQLFormattedError {
  const json = error.toJSON();
  return { ...json, extensions: { ...json.extensions, stacktrace: (error.originalError ?? error).stack?.split("\n") } };
}

/** Executes `{ field }` against a tiny schema whose resolver throws `thrown`, and formats the errors like Apollo. */
async function executeThrowing(thrown: unknown, format: ReturnType<typeof createErrorFormatter>) {
  const schema = buildSchema("type Query { field: String }");
  const result = await graphql({
    schema,
    source: "{ field }",
    rootValue: {
      field: () => {
        throw thrown;
      },
    },
  });
  const [error] = result.errors ?? [];
  if (!error) throw new Error("expected an error");
  return format(formattedWithStack(error), error);
}

describe("error helpers", () => {
  it("set extensions.code and details", () => {
    expect(unauthenticated().extensions).toEqual({ code: "UNAUTHENTICATED" });
    expect(forbidden().extensions).toEqual({ code: "FORBIDDEN" });
    expect(badUserInput("Bad email.", { field: "input.email" }).extensions).toEqual({ code: "BAD_USER_INPUT", field: "input.email" });
    expect(notFound("Product", "p1").extensions).toEqual({ code: "NOT_FOUND", resource: "Product", id: "p1" });
    expect(notFound("Product", "p1").message).toBe("Product p1 was not found.");
    expect(insufficientStock("p1", 5, 2).extensions).toEqual({ code: "INSUFFICIENT_STOCK", productId: "p1", requested: 5, available: 2 });
  });

  it("never lets details override the code", () => {
    expect(codedError(ErrorCode.NOT_FOUND, "x", { code: "SOMETHING_ELSE" }).extensions["code"]).toBe("NOT_FOUND");
  });

  it("read the code of raw and formatted errors", () => {
    expect(errorCodeOf(forbidden())).toBe("FORBIDDEN");
    expect(errorCodeOf(forbidden().toJSON())).toBe("FORBIDDEN");
    expect(errorCodeOf(new Error("x"))).toBeUndefined();
    expect(errorCodeOf(null)).toBeUndefined();
    expect(errorCodeOf(undefined)).toBeUndefined();
    expect(errorCodeOf({ extensions: { code: 42 } })).toBeUndefined();
    expect(hasErrorCode(forbidden(), ErrorCode.FORBIDDEN)).toBe(true);
    expect(hasErrorCode(forbidden(), ErrorCode.UNAUTHENTICATED)).toBe(false);
  });
});

describe("createErrorFormatter", () => {
  it("keeps errors with a known code, message and details intact, without the stack trace", async () => {
    const onInternalError = vi.fn();
    const out = await executeThrowing(notFound("Order", "o-1"), createErrorFormatter({ onInternalError }));
    expect(out).toEqual({
      message: "Order o-1 was not found.",
      locations: [{ line: 1, column: 3 }],
      path: ["field"],
      extensions: { code: "NOT_FOUND", resource: "Order", id: "o-1" },
    });
    expect(onInternalError).not.toHaveBeenCalled();
  });

  it.each(["BAD_REQUEST", "PERSISTED_QUERY_NOT_FOUND", "GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED"])(
    "passes Apollo's protocol code %s through",
    (code) => {
      const out = createErrorFormatter()({ message: "m", extensions: { code } }, new GraphQLError("m"));
      expect(out).toEqual({ message: "m", extensions: { code } });
    },
  );

  it("keeps the stack trace of coded errors with exposeInternals", async () => {
    const out = await executeThrowing(forbidden(), createErrorFormatter({ exposeInternals: true }));
    expect(out.extensions?.["code"]).toBe("FORBIDDEN");
    expect(out.extensions?.["stacktrace"]).toEqual(expect.arrayContaining([expect.stringContaining("GraphQLError")]));
  });

  it("masks an unexpected error as INTERNAL_SERVER_ERROR with a generic message: no database text, no stack", async () => {
    const onInternalError = vi.fn();
    const original = new Error(DB_ERROR);
    const out = await executeThrowing(original, createErrorFormatter({ onInternalError }));
    expect(out).toEqual({
      message: "Internal server error.",
      locations: [{ line: 1, column: 3 }],
      path: ["field"],
      extensions: { code: "INTERNAL_SERVER_ERROR" },
    });
    expect(JSON.stringify(out)).not.toMatch(/duplicate|User_email_key|password|stacktrace|at /);
    // The real error still reaches the server side (logs).
    expect(onInternalError).toHaveBeenCalledTimes(1);
    const seen = onInternalError.mock.calls[0]![0] as GraphQLError;
    expect(seen.originalError).toBe(original);
  });

  it("masks errors whose code is unknown, and errors claiming INTERNAL_SERVER_ERROR with details", async () => {
    const onInternalError = vi.fn();
    const format = createErrorFormatter({ onInternalError });
    const unknownCode = await executeThrowing(
      new GraphQLError(DB_ERROR, { extensions: { code: "P2002", meta: { target: ["email"] } } }),
      format,
    );
    expect(unknownCode).toMatchObject({ message: "Internal server error.", extensions: { code: "INTERNAL_SERVER_ERROR" } });
    expect(unknownCode.extensions).toEqual({ code: "INTERNAL_SERVER_ERROR" });
    const internal = await executeThrowing(codedError(ErrorCode.INTERNAL_SERVER_ERROR, DB_ERROR, { sql: "SELECT 1" }), format);
    expect(internal.extensions).toEqual({ code: "INTERNAL_SERVER_ERROR" });
    expect(internal.message).toBe("Internal server error.");
    expect(onInternalError).toHaveBeenCalledTimes(2);
  });

  it("masks thrown non-Error values too", async () => {
    const out = await executeThrowing("a string from a careless library", createErrorFormatter());
    expect(out).toMatchObject({ message: "Internal server error.", extensions: { code: "INTERNAL_SERVER_ERROR" } });
  });

  it("shows the real message and stack of unexpected errors with exposeInternals (development)", async () => {
    const onInternalError = vi.fn();
    const out = await executeThrowing(new Error(DB_ERROR), createErrorFormatter({ exposeInternals: true, onInternalError }));
    expect(out.message).toBe(DB_ERROR);
    expect(out.extensions?.["code"]).toBe("INTERNAL_SERVER_ERROR");
    expect((out.extensions?.["stacktrace"] as string[])[0]).toContain(DB_ERROR);
    expect(onInternalError).toHaveBeenCalledTimes(1);
  });
});

describe("suggestions outside development", () => {
  const messages = [
    ['Cannot query field "ordrs" on type "User". Did you mean "orders"?', 'Cannot query field "ordrs" on type "User".'],
    [
      'Value "MAIL" does not exist in "Channel" enum. Did you mean the enum value "EMAIL"?',
      'Value "MAIL" does not exist in "Channel" enum.',
    ],
    ['Unknown type "Prodct". Did you mean "Product" or "ProductEdge"?', 'Unknown type "Prodct".'],
  ];

  it.each(messages)("are removed from %j", (message, expected) => {
    const out = createErrorFormatter()({ message, extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }, new GraphQLError(message));
    expect(out.message).toBe(expected);
  });

  it("are kept in development", () => {
    const [message] = messages[0]!;
    const out = createErrorFormatter({ exposeInternals: true })(
      { message: message!, extensions: { code: "BAD_USER_INPUT" } },
      new GraphQLError(message!),
    );
    expect(out.message).toBe(message);
  });
});
