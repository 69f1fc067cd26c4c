import { GraphQLError } from "graphql";
import { describe, expect, it } from "vitest";
import { IDENTITY_HEADERS, identityToHeaders, isSelfOrAdmin, requireRole, requireUser, type Identity } from "@ecom/auth";

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

describe("identityToHeaders", () => {
  it("writes the user id and role, and nothing for anonymous calls (the signature covers both cases)", () => {
    expect(identityToHeaders(customer)).toEqual({ [IDENTITY_HEADERS.userId]: "u-1", [IDENTITY_HEADERS.role]: "CUSTOMER" });
    expect(identityToHeaders(null)).toEqual({});
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
