import { unauthenticated, forbidden } from "@ecom/errors";

/** Roles of the public API. */
export type Role = "CUSTOMER" | "ADMIN";

/** Who is calling, as the gateway established it from a verified token. */
export interface Identity {
  userId: string;
  role: Role;
}

/**
 * Headers carrying the caller's identity on a subgraph request. Subgraphs trust them only inside a valid request
 * signature from the gateway (signing.ts: they are covered by the HMAC), so a client that reaches a subgraph
 * directly, or another service, cannot claim to be someone else.
 */
export const IDENTITY_HEADERS = {
  userId: "x-user-id",
  role: "x-user-role",
} as const;

/** Headers carrying `identity` (none for anonymous calls). Sign the request after setting them. */
export function identityToHeaders(identity: Identity | null): Record<string, string> {
  return identity ? { [IDENTITY_HEADERS.userId]: identity.userId, [IDENTITY_HEADERS.role]: identity.role } : {};
}

/** Returns the identity or throws UNAUTHENTICATED. */
export function requireUser(identity: Identity | null): Identity {
  if (!identity) throw unauthenticated();
  return identity;
}

/** Returns the identity if it has `role`; UNAUTHENTICATED when anonymous, FORBIDDEN otherwise. */
export function requireRole(identity: Identity | null, role: Role): Identity {
  const user = requireUser(identity);
  if (user.role !== role) throw forbidden(`This needs the ${role} role.`);
  return user;
}

/** True when the caller is `ownerId` or an ADMIN. */
export function isSelfOrAdmin(identity: Identity | null, ownerId: string): boolean {
  return identity !== null && (identity.userId === ownerId || identity.role === "ADMIN");
}
