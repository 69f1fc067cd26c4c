/**
 * The gateway's HTTP hygiene, in one place: CORS from an allow-list (an origin not on it gets no CORS headers, so
 * browsers refuse to hand it the answer; the request origin is echoed only when listed, never `*` with
 * credentials), `trust proxy` explicit (off unless configured: `req.ip` is then the peer's address, not a header
 * any client can write), `nosniff`, and the variables of these settings. CSRF prevention is Apollo Server's own
 * (`csrfPrevention`, on by default and never turned off here): a request that a browser could send without a
 * preflight (a GET or a form POST without `content-type: application/json`, `apollo-require-preflight` or
 * `x-apollo-operation-name`) is refused with 400 before anything runs.
 */
import cors from "cors";
import express, { type Express, type RequestHandler } from "express";
import { booleanFlag, z } from "@ecom/config";

/** `trust proxy` as express takes it: off, a number of hops, or the proxies' addresses/subnets. */
export type TrustProxy = false | number | string;

/** Origins Apollo Sandbox sends requests from (the embedded Sandbox and Studio), allowed in development only. */
export const SANDBOX_ORIGINS = ["https://sandbox.embed.apollographql.com", "https://studio.apollographql.com"] as const;

/** The variables of the gateway's HTTP hygiene (spread into its env schema). */
export const httpHygieneEnv = {
  /**
   * Origins allowed to call the gateway from a browser, comma-separated and exact (`https://shop.example.com`).
   * @default "" (none; in development the Apollo Sandbox origins)
   */
  CORS_ORIGINS: z
    .string()
    .default("")
    .transform((value, ctx) => {
      const origins = value
        .split(",")
        .map((o) => o.trim())
        .filter(Boolean);
      for (const origin of origins) {
        if (origin === "*" || !/^https?:\/\/[^/\s*]+$/.test(origin)) {
          ctx.addIssue({ code: "custom", message: `must list exact origins such as https://shop.example.com (got "${origin}")` });
          return z.NEVER;
        }
      }
      return origins;
    }),
  /** Let the allowed origins send cookies (`Access-Control-Allow-Credentials`). Tokens go in a header: off. */
  CORS_CREDENTIALS: booleanFlag(false),
  /**
   * express `trust proxy`: `false`, the number of proxies in front (`1`), or their addresses/subnets
   * (`loopback, 10.0.0.0/8`). `true` (every proxy) is refused: any client could then choose its own IP.
   * @default false
   */
  TRUST_PROXY: z
    .string()
    .default("false")
    .transform((value, ctx): TrustProxy => {
      const v = value.trim();
      if (v === "false" || v === "0") return false;
      if (/^\d+$/.test(v)) return Number(v);
      if (v === "true") {
        ctx.addIssue({
          code: "custom",
          message: "true would trust every X-Forwarded-For (any client picks its IP): give the number of proxies (1) or their addresses",
        });
        return z.NEVER;
      }
      try {
        // express compiles the setting at once (proxy-addr): an invalid address throws here, not on a request.
        express().set("trust proxy", v);
      } catch (error) {
        ctx.addIssue({ code: "custom", message: `must be false, a hop count or addresses/subnets (${(error as Error).message})` });
        return z.NEVER;
      }
      return v;
    }),
};

/** Options of {@link applyHttpHygiene}. */
export interface HttpHygieneOptions {
  development: boolean;
  /** @default [] (plus {@link SANDBOX_ORIGINS} in development) */
  corsOrigins?: readonly string[];
  /** @default false */
  corsCredentials?: boolean;
  /** @default false */
  trustProxy?: TrustProxy;
}

const ALLOWED_HEADERS = [
  "content-type",
  "authorization",
  "apollo-require-preflight",
  "x-apollo-operation-name",
  "x-correlation-id",
  "x-request-id",
  "traceparent",
  "tracestate",
  "x-canary",
];

/** The settings on `app`, and the CORS middleware of `/graphql` (before the body parser: preflights end there). */
export function applyHttpHygiene(app: Express, options: HttpHygieneOptions): RequestHandler {
  app.disable("x-powered-by");
  app.set("trust proxy", options.trustProxy ?? false);
  app.use((_req, res, next) => {
    res.setHeader("x-content-type-options", "nosniff");
    next();
  });
  const allowed = new Set([...(options.corsOrigins ?? []), ...(options.development ? SANDBOX_ORIGINS : [])]);
  return cors({
    // A function rather than the list itself, so that the decision is visibly an exact match on the list.
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    credentials: options.corsCredentials ?? false,
    methods: ["GET", "POST"],
    allowedHeaders: ALLOWED_HEADERS,
    exposedHeaders: ["x-correlation-id", "retry-after", "ratelimit", "ratelimit-policy"],
    maxAge: 600,
  });
}
