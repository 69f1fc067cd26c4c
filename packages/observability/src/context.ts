import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";

/** Ids that follow one request through logs and across services. */
export interface RequestContext {
  /** Unique to this hop (a new one per process the request enters). */
  requestId: string;
  /** Shared by every hop of one client request; the gateway's request id unless the client sent one. */
  correlationId: string;
}

/** Header carrying {@link RequestContext.requestId} (set on responses; accepted from clients as a correlation id). */
export const REQUEST_ID_HEADER = "x-request-id";
/** Header carrying {@link RequestContext.correlationId}, forwarded on every hop. */
export const CORRELATION_ID_HEADER = "x-correlation-id";

const storage = new AsyncLocalStorage<RequestContext>();

/** The context of the request being handled, if any. */
export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore();
}

/** Runs `fn` with `ctx` as the current request context. */
export function runWithRequestContext<T>(ctx: RequestContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

// Ids come from clients: accept only short, printable tokens so they cannot inject into logs or headers.
const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Builds the context for an incoming request from its headers (new ids where absent or unsafe). */
export function requestContextFromHeaders(headers: Record<string, string | string[] | undefined>): RequestContext {
  const pick = (name: string) => {
    const raw = headers[name];
    const value = Array.isArray(raw) ? raw[0] : raw;
    return value !== undefined && SAFE_ID.test(value) ? value : undefined;
  };
  const requestId = randomUUID();
  return { requestId, correlationId: pick(CORRELATION_ID_HEADER) ?? pick(REQUEST_ID_HEADER) ?? requestId };
}
