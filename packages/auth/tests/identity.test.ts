import type * as NodeCrypto from "node:crypto";
import { timingSafeEqual } from "node:crypto";
import { GraphQLError } from "graphql";
import { describe, expect, it, vi } from "vitest";
import {
  IDENTITY_HEADERS,
  identityFromHeaders,
  identityToHeaders,
  isSelfOrAdmin,
  requireRole,
  requireUser,
  type Identity,
} from "@ecom/auth";

// Spy on the comparison the module uses, to prove it is constant-time whatever the received secret's length.
vi.mock("node:crypto", async (importOriginal) => {
  const actual = await importOriginal<typeof NodeCrypto>();
  return { ...actual, default: actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

const SECRET = "a-long-internal-secret-for-tests";
const customer: Identity = { userId: "u-1", role: "CUSTOMER" };
const admin: Identity = { userId: "u-2", role: "ADMIN" };

function codeOf(fn: () => unknown): { code: unknown; message: string } {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(GraphQLError);
    return { code: (error as GraphQLError).extensions["code"], message: (error as GraphQLError).message };
  }
  throw new Error("expected a GraphQLError");
}

describe("identityFromHeaders", () => {
  it("reads back what identityToHeaders wrote, with the right secret", () => {
    expect(identityFromHeaders(identityToHeaders(customer, SECRET), SECRET)).toEqual(customer);
    expect(identityFromHeaders(identityToHeaders(admin, SECRET), SECRET)).toEqual(admin);
  });

  it("reads Fetch Headers as well as node's header objects", () => {
    expect(identityFromHeaders(new Headers(identityToHeaders(customer, SECRET)), SECRET)).toEqual(customer);
    expect(identityFromHeaders(new Headers(), SECRET)).toBeNull();
  });

  it("treats a request without identity headers as anonymous, with or without the secret", () => {
    expect(identityFromHeaders({}, SECRET)).toBeNull();
    expect(identityFromHeaders(identityToHeaders(null, SECRET), SECRET)).toBeNull();
    expect(identityToHeaders(null, SECRET)).toEqual({ [IDENTITY_HEADERS.secret]: SECRET });
  });

  it.each([
    ["no secret", { [IDENTITY_HEADERS.userId]: "u-1", [IDENTITY_HEADERS.role]: "ADMIN" }],
    ["a wrong secret of the same length", { ...identityToHeaders(admin, SECRET), [IDENTITY_HEADERS.secret]: SECRET.replace("a", "b") }],
    ["a shorter secret", { ...identityToHeaders(admin, SECRET), [IDENTITY_HEADERS.secret]: "a" }],
    ["a prefix of the secret", { ...identityToHeaders(admin, SECRET), [IDENTITY_HEADERS.secret]: SECRET.slice(0, -1) }],
    ["an empty secret", { ...identityToHeaders(admin, SECRET), [IDENTITY_HEADERS.secret]: "" }],
    ["only a role header", { [IDENTITY_HEADERS.role]: "ADMIN" }],
  ])("refuses identity headers with %s (UNAUTHENTICATED)", (_label, headers) => {
    expect(codeOf(() => identityFromHeaders(headers, SECRET))).toEqual({
      code: "UNAUTHENTICATED",
      message: "Identity headers are accepted only from the gateway.",
    });
  });

  it("trusts nothing when the configured secret is empty", () => {
    const headers = { [IDENTITY_HEADERS.userId]: "u-1", [IDENTITY_HEADERS.role]: "ADMIN", [IDENTITY_HEADERS.secret]: "" };
    expect(codeOf(() => identityFromHeaders(headers, "")).code).toBe("UNAUTHENTICATED");
  });

  it.each([
    ["a lower-case role", { [IDENTITY_HEADERS.userId]: "u-1", [IDENTITY_HEADERS.role]: "admin" }],
    ["an unknown role", { [IDENTITY_HEADERS.userId]: "u-1", [IDENTITY_HEADERS.role]: "SUPERUSER" }],
    ["an empty role", { [IDENTITY_HEADERS.userId]: "u-1", [IDENTITY_HEADERS.role]: "" }],
    ["no role", { [IDENTITY_HEADERS.userId]: "u-1" }],
    ["an empty user id", { [IDENTITY_HEADERS.userId]: "", [IDENTITY_HEADERS.role]: "CUSTOMER" }],
  ])("refuses malformed identity headers: %s", (_label, headers) => {
    expect(codeOf(() => identityFromHeaders({ ...headers, [IDENTITY_HEADERS.secret]: SECRET }, SECRET))).toEqual({
      code: "UNAUTHENTICATED",
      message: "Malformed identity headers.",
    });
  });

  it("compares secrets in constant time, on equal-length inputs whatever was received", () => {
    const spy = vi.mocked(timingSafeEqual);
    spy.mockClear();
    for (const received of ["x", SECRET, `${SECRET}${SECRET}`]) {
      try {
        identityFromHeaders({ ...identityToHeaders(admin, SECRET), [IDENTITY_HEADERS.secret]: received }, SECRET);
      } catch {
        // expected for the wrong ones
      }
    }
    expect(spy).toHaveBeenCalledTimes(3);
    for (const [a, b] of spy.mock.calls) expect((a as Buffer).length).toBe((b as Buffer).length);
  });
});

describe("requireUser and requireRole", () => {
  it("requireUser returns the identity, or throws UNAUTHENTICATED when anonymous", () => {
    expect(requireUser(customer)).toBe(customer);
    expect(codeOf(() => requireUser(null)).code).toBe("UNAUTHENTICATED");
  });

  it("requireRole: UNAUTHENTICATED when anonymous, FORBIDDEN with another role, the identity otherwise", () => {
    expect(codeOf(() => requireRole(null, "ADMIN")).code).toBe("UNAUTHENTICATED");
    expect(codeOf(() => requireRole(customer, "ADMIN"))).toEqual({ code: "FORBIDDEN", message: "This needs the ADMIN role." });
    expect(requireRole(admin, "ADMIN")).toBe(admin);
    expect(requireRole(customer, "CUSTOMER")).toBe(customer);
  });

  it("isSelfOrAdmin: the owner or an admin, never anonymous", () => {
    expect(isSelfOrAdmin(customer, "u-1")).toBe(true);
    expect(isSelfOrAdmin(customer, "u-9")).toBe(false);
    expect(isSelfOrAdmin(admin, "u-9")).toBe(true);
    expect(isSelfOrAdmin(null, "u-1")).toBe(false);
  });
});
