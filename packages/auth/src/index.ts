export { IDENTITY_HEADERS, identityToHeaders, requireUser, requireRole, isSelfOrAdmin } from "./identity.ts";
export type { Identity, Role } from "./identity.ts";
export { JWT_ALG, loadSigningKey, jwksOf, createTokenIssuer, createTokenVerifier } from "./jwt.ts";
export type { SigningKey, TokenSettings, KeySource, TokenVerifierOptions } from "./jwt.ts";
export {
  SIGNATURE_HEADERS,
  GATEWAY_CALLER,
  DEFAULT_SIGNING_WINDOW_MS,
  DEV_SIGNING_KID,
  parseKeyring,
  formatKeyring,
  generateMasterKey,
  devMasterKeyring,
  serviceKeyring,
  pairKeyring,
  pairKeyringFromMaster,
  bodyDigest,
  createNonceSource,
  createRequestSigner,
  createRequestVerifier,
  SignatureError,
  isSignatureError,
  redisNonceStore,
  memoryNonceStore,
} from "./signing.ts";
export type {
  Keyring,
  KeyringEntry,
  RequestToSign,
  RequestSignerOptions,
  RequestVerifier,
  RequestVerifierOptions,
  SignatureClaims,
  SignatureFailure,
  VerifiedRequest,
  NonceStore,
  NonceRedis,
} from "./signing.ts";
