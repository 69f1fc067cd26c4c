/**
 * The subgraph side of signed calls (@ecom/auth signing.ts): every request to `/graphql` must be signed by the
 * gateway or by another service, with a timestamp inside the window, over exactly the method, path, body and
 * identity headers received. Anything else is HTTP 401 UNAUTHENTICATED with `extensions.reason`, anonymous calls
 * included, before the body is executed. Only `/health/*` and `/metrics` (and routes a subgraph mounts itself,
 * such as the public JWKS) are served unsigned.
 *
 * Replays: a signed request's nonce is claimed in Redis (`SET NX PX`, remembered for twice the window, the span
 * in which its timestamp is accepted) when the operation is a mutation, or for every operation with
 * `replayCheck: "all"`. Reads are not checked by default: replaying one within the window only returns again
 * what the signer was answered, and checking costs a Redis round trip on every subgraph fetch. When Redis cannot
 * be reached, a mutation is refused with 503 (retryable) rather than run unchecked.
 */
import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import type { RequestHandler } from "express";
import { GraphQLError } from "graphql";
import { Redis } from "ioredis";
import {
  bodyDigest,
  createRequestVerifier,
  isSignatureError,
  redisNonceStore,
  type Keyring,
  type NonceStore,
  type SignatureClaims,
  type SignatureFailure,
  type VerifiedRequest,
} from "@ecom/auth";
import { ErrorCode } from "@ecom/errors";
import type { Logger, Metrics } from "@ecom/observability";
import { Counter } from "prom-client";
import { DependencyUnavailableError } from "./outage.ts";

/** How a subgraph checks signed requests. */
export interface SubgraphSigningOptions {
  /** The subgraph's service keys (SIGNING_KEYS): every key verifies. */
  keys: Keyring;
  /**
   * How far a timestamp may be from now, either way.
   * @default 30000
   */
  windowMs?: number;
  /**
   * Which operations must carry an unseen nonce.
   * @default "mutations"
   */
  replayCheck?: "mutations" | "all";
  /** Where nonces are remembered: a store, or a Redis URL (a client is made, and closed on stop). */
  nonces: NonceStore | { redisUrl: string; prefix?: string };
  /**
   * Callers that may send identity headers (act for a user).
   * @default ["gateway"]
   */
  identityCallers?: readonly string[];
  /** @default Date.now */
  now?: () => number;
}

/** What {@link createSignatureGuard} returns. */
export interface SignatureGuard<TContext extends BaseContext> {
  /** Before the body parser: signature headers' form, key id, window (a bad request is refused unread). */
  checkHeaders: RequestHandler;
  /** The body parser's `verify`: digests the raw body. */
  captureDigest: (req: unknown, res: unknown, buf: Buffer) => void;
  /** After the body parser: the HMAC, and the identity it vouches for. */
  checkSignature: RequestHandler;
  /** The verified request of `req` (after {@link SignatureGuard.checkSignature}). */
  verifiedOf(req: object): VerifiedRequest | undefined;
  /** Marks a context with the verified request it serves (call in the context function). */
  bind<T extends object>(context: T, verified: VerifiedRequest): T;
  /** The replay check, once the operation type is known. */
  plugin: ApolloServerPlugin<TContext>;
  close(): Promise<void>;
}

/** The verified request of a context (see {@link SignatureGuard.bind}). */
const VERIFIED = Symbol("ecom.verifiedRequest");

function refusal(reason: SignatureFailure, message: string) {
  return { errors: [{ message, extensions: { code: ErrorCode.UNAUTHENTICATED, reason } }] };
}

/** See the module comment. */
export function createSignatureGuard<TContext extends BaseContext>(
  service: string,
  options: SubgraphSigningOptions,
  observability: { logger: Logger; metrics: Metrics },
): SignatureGuard<TContext> {
  const verifier = createRequestVerifier({
    service,
    keys: options.keys,
    ...(options.windowMs === undefined ? {} : { windowMs: options.windowMs }),
    ...(options.identityCallers ? { identityCallers: options.identityCallers } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  let redis: Redis | undefined;
  let store: NonceStore;
  if ("claim" in options.nonces) store = options.nonces;
  else {
    // Lazy and fail-fast: a subgraph that only serves reads never connects; a mutation while Redis is down fails
    // at once (503) instead of waiting in an offline queue.
    redis = new Redis(options.nonces.redisUrl, {
      lazyConnect: true,
      enableOfflineQueue: true,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
    });
    redis.on("error", (error: unknown) => observability.logger.debug({ err: error }, "nonce store: Redis unavailable"));
    store = redisNonceStore(redis, options.nonces.prefix ?? "ecom:nonce:");
  }
  const replayAll = options.replayCheck === "all";
  const rejections = new Counter({
    name: "subgraph_signature_rejections_total",
    help: "Requests to /graphql refused for their signature (unsigned, expired, tampered, replayed...).",
    labelNames: ["reason"],
    registers: [observability.metrics.registry],
  });
  const claims = new WeakMap<object, SignatureClaims>();
  const digests = new WeakMap<object, string>();
  const verified = new WeakMap<object, VerifiedRequest>();

  const refuse = (res: Parameters<RequestHandler>[1], reason: SignatureFailure, message: string) => {
    rejections.inc({ reason });
    res.status(401).json(refusal(reason, message));
  };

  return {
    checkHeaders: (req, res, next) => {
      try {
        claims.set(req, verifier.claims(req.headers));
        next();
      } catch (error) {
        if (!isSignatureError(error)) return next(error);
        refuse(res, error.reason, error.message);
      }
    },
    captureDigest: (req, _res, buf) => {
      digests.set(req as object, bodyDigest(buf));
    },
    checkSignature: (req, res, next) => {
      const claimed = claims.get(req);
      if (!claimed) return refuse(res, "unsigned", "This service accepts signed requests only.");
      try {
        verified.set(
          req,
          verifier.verify(claimed, {
            method: req.method,
            path: req.originalUrl,
            digest: digests.get(req) ?? bodyDigest(undefined),
            headers: req.headers,
          }),
        );
        next();
      } catch (error) {
        if (!isSignatureError(error)) return next(error);
        refuse(res, error.reason, error.message);
      }
    },
    verifiedOf: (req) => verified.get(req),
    // A property rather than a WeakMap: Apollo Server hands plugins a copy of the context object.
    bind: (context, request) => Object.assign(context, { [VERIFIED]: request }),
    plugin: {
      async requestDidStart({ contextValue }) {
        return {
          async didResolveOperation({ operation }) {
            if (!replayAll && operation?.operation !== "mutation") return;
            const request = (contextValue as { [VERIFIED]?: VerifiedRequest })[VERIFIED];
            // The HTTP guard runs first, so every request reaching Apollo is bound; refuse if not (never run unchecked).
            if (!request)
              throw new GraphQLError("Unsigned request.", {
                extensions: { code: ErrorCode.UNAUTHENTICATED, reason: "unsigned", http: { status: 401 } },
              });
            let fresh: boolean;
            try {
              fresh = await store.claim(`${service}:${request.caller}:${request.nonce}`, 2 * verifier.windowMs);
            } catch (error) {
              throw new DependencyUnavailableError("redis", "nonce store unreachable", { cause: error });
            }
            if (!fresh) {
              rejections.inc({ reason: "replayed" });
              throw new GraphQLError("This signed request was already received (replay refused).", {
                extensions: { code: ErrorCode.UNAUTHENTICATED, reason: "replayed", http: { status: 401 } },
              });
            }
          },
        };
      },
    },
    async close() {
      if (redis && redis.status !== "end" && redis.status !== "wait") await redis.quit().catch(() => redis?.disconnect());
      else redis?.disconnect();
    },
  };
}
