/**
 * Coded JSON answers for what fails before GraphQL runs (a body too large or not JSON, an unknown path), in the
 * gateway and every subgraph. Without this, express's final handler answers HTML, with the error's stack trace
 * whenever the process's NODE_ENV is not `production` (express reads it itself), naming files of the server.
 */
import type { ErrorRequestHandler, RequestHandler } from "express";
import { ErrorCode } from "@ecom/errors";
import type { Logger } from "@ecom/observability";

interface HttpError {
  status?: unknown;
  statusCode?: unknown;
  type?: unknown;
  expose?: unknown;
}

const send = (res: Parameters<RequestHandler>[1], status: number, code: ErrorCode, message: string) => {
  res.status(status);
  res.setHeader("content-type", "application/json; charset=utf-8");
  res.setHeader("cache-control", "no-store");
  res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
};

/** What a body-parser error means to the client (its messages can quote the body: never sent as they are). */
function describeClientError(error: HttpError, status: number): string {
  switch (error.type) {
    case "entity.too.large":
      return "The request body is larger than this server accepts.";
    case "entity.parse.failed":
      return "The request body is not valid JSON.";
    case "charset.unsupported":
    case "encoding.unsupported":
      return "The request body's charset or encoding is not supported (send UTF-8 JSON).";
    case "request.aborted":
      return "The request was aborted before its body arrived.";
    case "request.size.invalid":
      return "The request body's length does not match its Content-Length.";
    default:
      return status === 413 ? "The request is too large." : "The request is malformed.";
  }
}

/**
 * The last express error handler: a client error (4xx from the body parser, a malformed URL) is answered with its
 * status and BAD_REQUEST; anything else is 500 INTERNAL_SERVER_ERROR with a generic message, logged with details.
 */
export function createHttpErrorHandler(logger?: Logger): ErrorRequestHandler {
  return (error: unknown, _req, res, next) => {
    if (res.headersSent) return next(error);
    const e = (typeof error === "object" && error !== null ? error : {}) as HttpError;
    const status = Number(e.status ?? e.statusCode);
    if (Number.isInteger(status) && status >= 400 && status < 500) {
      send(res, status, ErrorCode.BAD_REQUEST, describeClientError(e, status));
      return;
    }
    logger?.error({ err: error }, "unexpected error before GraphQL");
    send(res, 500, ErrorCode.INTERNAL_SERVER_ERROR, "Internal server error.");
  };
}

/** Unknown paths: 404 with a coded JSON body (express's default page is HTML). */
export const notFoundHandler: RequestHandler = (_req, res) =>
  send(res, 404, ErrorCode.NOT_FOUND, "Not found: the GraphQL endpoint is /graphql.");

const GRAPHQL_METHODS: ReadonlySet<string> = new Set(["GET", "POST", "HEAD", "OPTIONS"]);

/**
 * For `/graphql`, before the body parser: any method but GET, POST (and HEAD, OPTIONS) is 405 with `Allow` and a
 * coded JSON body (Apollo Server answers some of them with an empty 400).
 */
export const graphqlMethodGuard: RequestHandler = (req, res, next) => {
  if (GRAPHQL_METHODS.has(req.method)) return next();
  res.setHeader("allow", "GET, POST");
  // The body is read and discarded first: answering while the client still sends makes it see a reset socket.
  req.resume();
  req.once("end", () => send(res, 405, ErrorCode.BAD_REQUEST, "GraphQL requests are GET or POST."));
};
