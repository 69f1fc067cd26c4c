/**
 * The error codes of the public API (../../API.md, "Errors") and GraphQLError helpers that set them.
 * Clients branch on `extensions.code`, never on messages.
 */
import { GraphQLError, type GraphQLFormattedError } from "graphql";

/** Every `extensions.code` the platform emits. */
export enum ErrorCode {
  UNAUTHENTICATED = "UNAUTHENTICATED",
  FORBIDDEN = "FORBIDDEN",
  BAD_USER_INPUT = "BAD_USER_INPUT",
  NOT_FOUND = "NOT_FOUND",
  /** HTTP 429 with `Retry-After`. */
  RATE_LIMITED = "RATE_LIMITED",
  /** Breaker open or subgraph down; other fields still resolve. */
  SUBGRAPH_UNAVAILABLE = "SUBGRAPH_UNAVAILABLE",
  /** Depth, aliases or cost over the limits. */
  QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX",
  INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK",
  /** No stack trace outside development. */
  INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR",
  /** Apollo Server's own codes for a query that does not parse or validate, kept as Apollo clients expect. */
  GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED",
  GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED",
  /** Apollo Server's code for a request that is not a GraphQL request (bad body, bad operationName...). */
  BAD_REQUEST = "BAD_REQUEST",
  /** Apollo Server's code when no operation matches (unknown operationName, several operations without one). */
  OPERATION_RESOLUTION_FAILURE = "OPERATION_RESOLUTION_FAILURE",
  /** Automatic persisted queries: the hash is not known yet (send the query with it). */
  PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND",
  /** Automatic persisted queries are off on this server. */
  PERSISTED_QUERY_NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED",
  /**
   * The token could not be checked right now (the key server, JWKS, is unreachable): HTTP 503 with
   * `Retry-After`; retry the same request later. Not a verdict on the token (that is UNAUTHENTICATED).
   */
  AUTH_UNAVAILABLE = "AUTH_UNAVAILABLE",
}

const KNOWN_CODES = new Set<string>(Object.values(ErrorCode));

/** True when `code` is one of {@link ErrorCode} (what metrics may use as a label value). */
export const isKnownErrorCode = (code: unknown): code is ErrorCode => typeof code === "string" && KNOWN_CODES.has(code);

/** Extra, machine-readable details placed next to `code` in `extensions`. */
export type ErrorDetails = Record<string, unknown>;

/** Creates a GraphQLError carrying `extensions.code`. */
export function codedError(code: ErrorCode, message: string, details: ErrorDetails = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { ...details, code } });
}

/** The caller is anonymous (or the token is invalid) and the field needs a user. */
export const unauthenticated = (message = "You must be signed in to do this.") => codedError(ErrorCode.UNAUTHENTICATED, message);

/** The caller's token cannot be checked right now (key server unreachable): retryable, HTTP 503. */
export const authUnavailable = (message = "Sign-in cannot be checked right now: try again shortly.") =>
  codedError(ErrorCode.AUTH_UNAVAILABLE, message);

/** The caller is known but not allowed. */
export const forbidden = (message = "You are not allowed to do this.") => codedError(ErrorCode.FORBIDDEN, message);

/** Input the caller must correct; `field` names the offending argument path (e.g. `input.items.0.quantity`). */
export const badUserInput = (message: string, details: ErrorDetails & { field?: string } = {}) =>
  codedError(ErrorCode.BAD_USER_INPUT, message, details);

/** A referenced thing does not exist. */
export const notFound = (what: string, id: string) =>
  codedError(ErrorCode.NOT_FOUND, `${what} ${id} was not found.`, { resource: what, id });

/** Not enough stock for a product. */
export const insufficientStock = (productId: string, requested: number, available: number) =>
  codedError(ErrorCode.INSUFFICIENT_STOCK, `Only ${available} of product ${productId} available, ${requested} requested.`, {
    productId,
    requested,
    available,
  });

/** Returns the `extensions.code` of a GraphQL error (formatted or not), if any. */
export function errorCodeOf(error: unknown): string | undefined {
  const code = (error as { extensions?: { code?: unknown } } | null)?.extensions?.code;
  return typeof code === "string" ? code : undefined;
}

/** True when `error` is a GraphQL error with the given code. */
export function hasErrorCode(error: unknown, code: ErrorCode): boolean {
  return errorCodeOf(error) === code;
}

/** Options of {@link createErrorFormatter}. */
export interface ErrorFormatterOptions {
  /**
   * Keep stack traces and messages of unexpected errors (development only).
   * @default false
   */
  exposeInternals?: boolean;
  /** Called with each unexpected error before it is masked, e.g. to log it. */
  onInternalError?: (error: unknown) => void;
}

// graphql-js's suggestions ("Did you mean "orders"?", "Did you mean the enum value "SMS"?") name fields, types and
// enum values of the schema: with introspection off, they would let a client map the schema one typo at a time.
// Apollo Server's hideSchemaDetailsFromClientErrors strips them from validation errors only, not from variable
// coercion errors, so the formatter strips them from every message.
const SUGGESTION = / ?Did you mean [^?]*\?/g;

/** `message` without graphql-js's "Did you mean ...?" suggestions. */
export const withoutSuggestions = (message: string): string => message.replace(SUGGESTION, "").trim();

/**
 * An Apollo Server `formatError`: errors with a known code pass through (without stack traces unless
 * `exposeInternals`); anything else becomes INTERNAL_SERVER_ERROR with a generic message, so database errors and
 * stack traces never reach clients in production. Outside development (`exposeInternals` false) "Did you mean"
 * suggestions are removed from every message.
 */
export function createErrorFormatter(options: ErrorFormatterOptions = {}) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const code = errorCodeOf(formatted);
    const { stacktrace, ...extensions } = (formatted.extensions ?? {}) as Record<string, unknown>;
    if (code !== undefined && KNOWN_CODES.has(code) && code !== ErrorCode.INTERNAL_SERVER_ERROR) {
      if (options.exposeInternals) return { ...formatted, extensions: { ...extensions, stacktrace } };
      return { ...formatted, message: withoutSuggestions(formatted.message), extensions };
    }
    options.onInternalError?.(error);
    if (options.exposeInternals) return { ...formatted, extensions: { ...extensions, stacktrace, code: ErrorCode.INTERNAL_SERVER_ERROR } };
    return {
      message: "Internal server error.",
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
    };
  };
}
