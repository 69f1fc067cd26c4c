/**
 * The HTTP guard: checks what can be checked of a GraphQL request before Apollo Server parses anything, and
 * answers a coded 400 itself. Parsing, validation and execution are recursive and, for huge or deep documents,
 * costly or fatal ("Maximum call stack size exceeded"); Apollo Server has no hook that runs before parsing and can
 * answer (an error thrown from `didResolveSource` or `parsingDidStart` becomes a 500), so this runs as middleware
 * after the JSON body parser.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { ErrorCode } from "@ecom/errors";
import { GRAPHQL_NAME } from "./apollo.ts";
import { queryTooComplexBody, type LimitViolation } from "./errors.ts";
import type { QueryLimiter } from "./limiter.ts";

/** Longest `operationName` accepted (longer ones are not names a client wrote). */
export const MAX_OPERATION_NAME_LENGTH = 128;

/** Options of {@link createRequestGuard}. */
export interface RequestGuardOptions {
  limiter: QueryLimiter;
  /** Called with every refusal by a limit. */
  onViolation?: (violation: LimitViolation) => void;
}

type Request = IncomingMessage & { body?: unknown; query?: unknown };
type Next = (error?: unknown) => void;

/** A refusal the guard answers, with its HTTP status and body. */
export interface GuardRefusal {
  status: number;
  body: { errors: Array<{ message: string; extensions: Record<string, unknown> }> };
}

const badRequest = (message: string): GuardRefusal => ({
  status: 400,
  body: { errors: [{ message, extensions: { code: ErrorCode.BAD_REQUEST } }] },
});

/**
 * Checks one GraphQL request (a body, or the query parameters of a GET) and returns the refusal to answer, or
 * null to let Apollo Server handle it (which also answers malformed requests with BAD_REQUEST):
 * - a batch larger than `maxOperationsPerBatch`: QUERY_TOO_COMPLEX;
 * - an `operationName` that is not a GraphQL name (`<script>`, bidi overrides, 10 kB): BAD_REQUEST, not echoed;
 * - an automatic persisted query of a version other than 1, a hash that is not SHA-256 hex, or a hash that does
 *   not match the query sent with it: BAD_REQUEST (Apollo Server answers these with uncoded errors);
 * - a document over `maxTokens` or `maxNesting`: QUERY_TOO_COMPLEX;
 * - `variables` nested deeper than `maxNesting` (a 10,000-level JSON value): QUERY_TOO_COMPLEX, rule `nesting`
 *   (JSON.stringify, graphql-js's coercion and error printing are recursive: such a value must not reach them).
 */
export function checkGraphQLRequest(
  limiter: QueryLimiter,
  payload: unknown,
  onViolation?: (violation: LimitViolation) => void,
): GuardRefusal | null {
  const refuse = (violation: LimitViolation): GuardRefusal => {
    onViolation?.(violation);
    return { status: 400, body: queryTooComplexBody(violation) };
  };
  if (Array.isArray(payload)) {
    const violation = limiter.checkBatch(payload.length);
    if (violation) return refuse(violation);
    for (const operation of payload) {
      const refusal = checkGraphQLRequest(limiter, operation, onViolation);
      if (refusal) return refusal;
    }
    return null;
  }
  if (typeof payload !== "object" || payload === null) return null;
  const { query, operationName, extensions, variables } = payload as {
    query?: unknown;
    operationName?: unknown;
    extensions?: unknown;
    variables?: unknown;
  };

  if (typeof operationName === "string" && (operationName.length > MAX_OPERATION_NAME_LENGTH || !GRAPHQL_NAME.test(operationName))) {
    return badRequest(
      `operationName must be a GraphQL name (letters, digits and _, not starting with a digit) of at most ${MAX_OPERATION_NAME_LENGTH} characters.`,
    );
  }

  const persisted = persistedQueryOf(extensions);
  if (persisted !== undefined) {
    if (typeof persisted !== "object" || persisted === null) return badRequest("extensions.persistedQuery must be an object.");
    const { version, sha256Hash } = persisted as { version?: unknown; sha256Hash?: unknown };
    if (version !== 1) return badRequest("Unsupported persisted query version: only version 1 is supported.");
    if (typeof sha256Hash !== "string" || !/^[0-9a-fA-F]{64}$/.test(sha256Hash)) {
      return badRequest("extensions.persistedQuery.sha256Hash must be the SHA-256 of the query, in hexadecimal.");
    }
    if (typeof query === "string" && createHash("sha256").update(query).digest("hex") !== sha256Hash.toLowerCase()) {
      return badRequest("The persisted query hash does not match the query sent with it (SHA-256 of the query text).");
    }
  }

  if (typeof query === "string") {
    const violation = limiter.checkSource(query);
    if (violation) return refuse(violation);
  }

  const { maxNesting } = limiter.limits;
  const variablesNesting = jsonNesting(typeof variables === "string" ? parseJson(variables) : variables, maxNesting);
  if (variablesNesting > maxNesting) return refuse({ rule: "nesting", limit: maxNesting, measured: variablesNesting });
  return null;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined; // Apollo Server answers BAD_REQUEST for variables that are not JSON
  }
}

/**
 * How deeply arrays and objects nest in a JSON value, with an explicit stack (no recursion, whatever the depth);
 * stops counting once past `stopAbove` (the result is then a lower bound above it).
 */
export function jsonNesting(value: unknown, stopAbove = Number.POSITIVE_INFINITY): number {
  let deepest = 0;
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const current = item.value;
    if (typeof current !== "object" || current === null) continue;
    const depth = item.depth + 1;
    if (depth > deepest) deepest = depth;
    if (deepest > stopAbove) return deepest;
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (typeof child === "object" && child !== null) stack.push({ value: child, depth });
    }
  }
  return deepest;
}

/** `extensions.persistedQuery`, from a body's object or a GET's JSON string; undefined when absent or unreadable. */
function persistedQueryOf(extensions: unknown): unknown {
  let value = extensions;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined; // Apollo Server answers BAD_REQUEST for extensions that are not JSON
    }
  }
  return typeof value === "object" && value !== null ? (value as { persistedQuery?: unknown }).persistedQuery : undefined;
}

/**
 * Express/connect middleware for the GraphQL route, after the JSON body parser: runs
 * {@link checkGraphQLRequest} on the body (POST) or the query parameters (GET) and answers the refusal itself.
 */
export function createRequestGuard(options: RequestGuardOptions) {
  return (req: Request, res: ServerResponse, next: Next): void => {
    const payload = req.method === "GET" ? req.query : req.body;
    const refusal = checkGraphQLRequest(options.limiter, payload, options.onViolation);
    if (!refusal) return next();
    res.statusCode = refusal.status;
    res.setHeader("content-type", "application/json; charset=utf-8");
    res.setHeader("cache-control", "no-store");
    res.end(JSON.stringify(refusal.body));
  };
}
