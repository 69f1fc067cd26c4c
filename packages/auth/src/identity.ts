import { createHash, timingSafeEqual } from "node:crypto";
import { unauthenticated, forbidden } from "@ecom/errors";

/** Roles of the public API. */
export type Role = "CUSTOMER" | "ADMIN";

/** Who is calling, as the gateway established it from a verified token. */
export interface Identity {
  userId: string;
  role: Role;
}

/**
 * Headers the gateway sets on every subgraph request. Subgraphs trust them only when the internal secret
 * matches, so a client that reaches a subgraph directly cannot claim to be someone else.
 */
export const IDENTITY_HEADERS = {
  userId: "x-user-id",
  role: "x-user-role",
  secret: "x-internal-secret",
} as const;

/** Headers carrying `identity` (or only the secret, for anonymous calls). */
export function identityToHeaders(identity: Identity | null, internalSecret: string): Record<string, string> {
  const headers: Record<string, string> = { [IDENTITY_HEADERS.secret]: internalSecret };
  if (identity) {
    headers[IDENTITY_HEADERS.userId] = identity.userId;
    headers[IDENTITY_HEADERS.role] = identity.role;
  }
  return headers;
}

// Compares digests, not the strings: equal-length inputs make the comparison constant-time without an early
// length check (which would tell an attacker the secret's length). An empty configured secret matches nothing.
function secretsMatch(received: string, expected: string): boolean {
  const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();
  return timingSafeEqual(digest(received), digest(expected)) && expected.length > 0;
}

/** Request headers: a Fetch `Headers` (or anything with `get`) or node's `IncomingHttpHeaders` (lower-case keys). */
type HeaderBag = { get(name: string): string | null | undefined } | Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === "function")
    return (headers as { get(n: string): string | null | undefined }).get(name) ?? undefined;
  const raw = (headers as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(raw) ? raw[0] : raw;
}

const ROLES: ReadonlySet<string> = new Set<Role>(["CUSTOMER", "ADMIN"]);

/**
 * Reads the identity from request headers. Returns null for anonymous requests.
 * @throws UNAUTHENTICATED when identity headers are present without the right internal secret, or malformed.
 */
export function identityFromHeaders(headers: HeaderBag, internalSecret: string): Identity | null {
  const userId = header(headers, IDENTITY_HEADERS.userId);
  const role = header(headers, IDENTITY_HEADERS.role);
  if (userId === undefined && role === undefined) return null;
  const secret = header(headers, IDENTITY_HEADERS.secret);
  if (secret === undefined || !secretsMatch(secret, internalSecret)) {
    throw unauthenticated("Identity headers are accepted only from the gateway.");
  }
  if (!userId || !role || !ROLES.has(role)) throw unauthenticated("Malformed identity headers.");
  return { userId, role: role as Role };
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
