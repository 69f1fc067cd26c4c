export { IDENTITY_HEADERS, identityToHeaders, identityFromHeaders, requireUser, requireRole, isSelfOrAdmin } from "./identity.ts";
export type { Identity, Role } from "./identity.ts";
export { JWT_ALG, loadSigningKey, jwksOf, createTokenIssuer, createTokenVerifier } from "./jwt.ts";
export type { SigningKey, TokenSettings, KeySource, TokenVerifierOptions } from "./jwt.ts";
