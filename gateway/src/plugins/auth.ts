import { HeaderMap, type ApolloServerPlugin, type BaseContext } from "@apollo/server";
import type { Identity } from "@ecom/auth";
import { ErrorCode, errorCodeOf } from "@ecom/errors";
import { GraphQLError } from "graphql";
import { decodeJwt } from "jose";

/** Options of {@link createAuthPlugin}. */
export interface AuthPluginOptions {
  /** Verifies an access token (createTokenVerifier of @ecom/auth); throws UNAUTHENTICATED when it is not valid. */
  verifyToken: (token: string) => Promise<Identity>;
  /**
   * How long a verified token is remembered, so the signature is checked once per token rather than once per
   * request. Never past the token's own `exp`.
   * @default 60000
   */
  cacheTtlMs?: number;
  /**
   * Most tokens remembered at once; the oldest is forgotten first.
   * @default 10000
   */
  cacheMaxEntries?: number;
  /**
   * Clock (milliseconds since the epoch), for tests.
   * @default Date.now
   */
  now?: () => number;
  /**
   * `Retry-After` (seconds) of the 503 AUTH_UNAVAILABLE answer when tokens cannot be checked (JWKS unreachable).
   * @default 5
   */
  retryAfterSeconds?: number;
}

/** The auth plugin, with a way to read the identity it established for a request. */
export interface AuthPlugin<TContext extends BaseContext> extends ApolloServerPlugin<TContext> {
  /** The caller of the request whose `contextValue` this is: null when anonymous (or not seen by the plugin). */
  identityOf(context: object): Identity | null;
}

const BEARER = /^Bearer\s+([A-Za-z0-9\-_.~+/]+=*)\s*$/i;

// Apollo Server reads `extensions.http` (status, and headers as a HeaderMap). Typed loosely: another package in the
// workspace (graphql-yoga's typings) augments GraphQLErrorExtensions with its own `http.headers` shape.
function httpError(message: string, code: ErrorCode, status: number, headers: HeaderMap): GraphQLError {
  const extensions: Record<string, unknown> = { code, http: { status, headers } };
  return new GraphQLError(message, { extensions });
}

function unauthenticated(message: string): GraphQLError {
  return httpError(message, ErrorCode.UNAUTHENTICATED, 401, new HeaderMap([["www-authenticate", 'Bearer error="invalid_token"']]));
}

function authUnavailable(message: string, retryAfterSeconds: number): GraphQLError {
  return httpError(message, ErrorCode.AUTH_UNAVAILABLE, 503, new HeaderMap([["retry-after", String(retryAfterSeconds)]]));
}

/**
 * Authenticates each operation from its `Authorization: Bearer <jwt>` header. No header: anonymous. A header
 * that is not a valid, unexpired token of our issuer: HTTP 401 with UNAUTHENTICATED, before anything is
 * executed (a client holding a stale token must hear it, not silently get anonymous data). A token that cannot be
 * checked right now (the key server is unreachable and the token's key is not known) is HTTP 503 AUTH_UNAVAILABLE
 * with `Retry-After`: a temporary failure the client retries, not a reason to sign the user out.
 *
 * The check runs in `didResolveOperation`, the first hook whose errors Apollo Server returns as a response
 * (an error thrown in `requestDidStart` becomes a 500). Client-sent identity headers are never read here: the
 * identity comes from the token only, and the subgraph data source sends it on.
 */
export function createAuthPlugin<TContext extends BaseContext>(options: AuthPluginOptions): AuthPlugin<TContext> {
  const ttlMs = options.cacheTtlMs ?? 60_000;
  const maxEntries = options.cacheMaxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  const retryAfterSeconds = options.retryAfterSeconds ?? 5;
  // Per request: the identity of each operation's context (a fresh object per operation in Apollo Server).
  const identities = new WeakMap<object, Identity | null>();
  // Per plugin instance: verified tokens. Only valid tokens are cached, so garbage cannot fill it.
  const verified = new Map<string, { identity: Identity; until: number }>();

  async function authenticate(token: string): Promise<Identity> {
    const cached = verified.get(token);
    if (cached && cached.until > now()) return cached.identity;
    if (cached) verified.delete(token);
    const identity = await options.verifyToken(token);
    const exp = decodeJwt(token).exp;
    const until = Math.min(now() + ttlMs, typeof exp === "number" ? exp * 1000 : 0);
    if (until > now()) {
      if (verified.size >= maxEntries) verified.delete(verified.keys().next().value as string);
      verified.set(token, { identity, until });
    }
    return identity;
  }

  return {
    identityOf: (context) => identities.get(context) ?? null,
    async requestDidStart({ request, contextValue }) {
      const header = request.http?.headers.get("authorization");
      return {
        async didResolveOperation() {
          if (header === undefined || header.trim() === "") {
            identities.set(contextValue, null);
            return;
          }
          const token = BEARER.exec(header)?.[1];
          if (!token) throw unauthenticated("The Authorization header must be `Bearer <token>`.");
          try {
            identities.set(contextValue, await authenticate(token));
          } catch (error) {
            if (errorCodeOf(error) === ErrorCode.AUTH_UNAVAILABLE) throw authUnavailable((error as Error).message, retryAfterSeconds);
            // createTokenVerifier says why (expired, unknown key) with UNAUTHENTICATED.
            const message = errorCodeOf(error) === ErrorCode.UNAUTHENTICATED ? (error as Error).message : "Invalid token.";
            throw unauthenticated(message);
          }
        },
      };
    },
  };
}
