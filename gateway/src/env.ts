import { fileURLToPath } from "node:url";
import { rateLimitRulesSchema, redisDownPolicySchema } from "@ecom/ratelimit";
import { resilienceConfigSchema, type ResilienceConfigInput } from "@ecom/resilience";
import { cacheHintsSchema } from "./plugins/response-cache.ts";
import { httpHygieneEnv } from "./http-hygiene.ts";
import {
  GATEWAY_PORT,
  SUBGRAPHS,
  SUBGRAPH_NAMES,
  baseEnv,
  booleanFlag,
  controlPlaneEnv,
  discoveryEnv,
  durationMs,
  evenIfOtherVariablesFail,
  httpLimitsEnv,
  httpUrl,
  gatewaySigningEnv,
  loadEnvOrExit,
  port,
  queryLimitsEnv,
  redisUrl,
  refuseDevSigningKeysInProduction,
  shutdownEnv,
  subgraphUrlVariable,
  z,
  type RawEnv,
} from "@ecom/config";

/** `gateway/supergraph.graphql`, written by `npm run compose`. */
export const DEFAULT_SUPERGRAPH_PATH = fileURLToPath(new URL("../supergraph.graphql", import.meta.url));

// SUBGRAPH_USERS_URL, SUBGRAPH_PRODUCTS_URL...: one optional override per subgraph of the port table. Unset, a
// subgraph is reached at the URL the supergraph names (http://localhost:<port>/graphql).
/**
 * RESILIENCE_CONFIG: the breaker, retry, timeout, bulkhead and dedup settings as JSON (the schema of
 * @ecom/resilience's config.ts), checked at boot like every other variable. Kept as written (defaults are filled
 * in by the call path), so that SUBGRAPH_TIMEOUT and REQUEST_DEADLINE still apply where it is silent.
 */
const resilienceJson = () =>
  jsonOf(resilienceConfigSchema, { asWritten: true }) as z.ZodType<ResilienceConfigInput | undefined, string | undefined>;

/** An optional variable holding JSON that `schema` validates (the parsed value, or with `asWritten` the JSON itself). */
function jsonOf<S extends z.ZodType>(schema: S, options: { asWritten?: boolean } = {}) {
  return z
    .string()
    .optional()
    .transform((text, ctx): z.infer<S> | undefined => {
      if (text === undefined || text.trim() === "") return undefined;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        ctx.addIssue({ code: "custom", message: `must be JSON (${(error as Error).message})` });
        return z.NEVER;
      }
      const parsed = schema.safeParse(value);
      if (!parsed.success) {
        for (const issue of parsed.error.issues)
          ctx.addIssue({ code: "custom", message: `${issue.path.join(".") || "(root)"}: ${issue.message}` });
        return z.NEVER;
      }
      return (options.asWritten ? value : parsed.data) as z.infer<S>;
    });
}

const subgraphUrlEnv = Object.fromEntries(SUBGRAPH_NAMES.map((name) => [subgraphUrlVariable(name), httpUrl().optional()]));

/** Configuration of the gateway. */
export const envSchema = z
  .object({
    ...baseEnv,
    ...shutdownEnv,
    ...gatewaySigningEnv,
    PORT: port(GATEWAY_PORT),
    /** Where the users subgraph publishes the public keys of access tokens. */
    JWKS_URL: httpUrl().default(`http://localhost:${SUBGRAPHS.users}/.well-known/jwks.json`),
    JWT_ISSUER: z.string().default("ecom-users"),
    JWT_AUDIENCE: z.string().default("ecom-gateway"),
    /** Clock skew tolerated on a token's exp/nbf/iat. */
    JWT_CLOCK_SKEW: durationMs("5s"),
    /** Timeout of one attempt of a subgraph call; slower is a failure for its breaker (then retried or SUBGRAPH_UNAVAILABLE). */
    SUBGRAPH_TIMEOUT: durationMs("5s"),
    /** Longest time one client request may spend on subgraph calls, retries and waits included. */
    REQUEST_DEADLINE: durationMs("10s"),
    /** Everything else of the subgraph call path's resilience, as JSON (see the README). */
    RESILIENCE_CONFIG: resilienceJson(),
    /** Kept-alive connections per subgraph (undici pool). */
    SUBGRAPH_CONNECTIONS: z.coerce.number().int().min(1).max(10_000).default(128),
    /** Bound of the query-plan cache, in MiB of plans (their JSON size). */
    QUERY_PLAN_CACHE_MIB: z.coerce.number().min(1).max(4096).default(30),
    /** Whole-response cache in Redis for anonymous queries with cache hints (gateway/src/plugins/response-cache.ts). */
    RESPONSE_CACHE: booleanFlag(false),
    /** Prefix of the response cache's Redis keys. */
    RESPONSE_CACHE_PREFIX: z.string().min(1).default("ecom:gateway:response:"),
    /** The response cache's hints by type and schema coordinate, as JSON (default: the catalogue's, see the README). */
    RESPONSE_CACHE_HINTS: jsonOf(cacheHintsSchema),
    REDIS_URL: redisUrl().default("redis://127.0.0.1:6379/0"),
    /** The supergraph SDL; a relative path is resolved from the working directory. */
    SUPERGRAPH_PATH: z.string().default(DEFAULT_SUPERGRAPH_PATH),
    /** Watch SUPERGRAPH_PATH and swap in each valid new version without a restart (an invalid one is refused). */
    SUPERGRAPH_WATCH: booleanFlag(true),
    /** How often the supergraph file is checked for changes. */
    SUPERGRAPH_WATCH_INTERVAL: durationMs("1s"),
    CONTROL_PLANE_PREFIX: controlPlaneEnv.CONTROL_PLANE_PREFIX,
    /**
     * `static`: call the configured URLs (DNS, Kubernetes Services: the platform balances). `registry`: balance
     * across the instances registered in Redis, and recompose when one registers a new schema.
     */
    DISCOVERY_MODE: discoveryEnv.DISCOVERY_MODE,
    /** Full registry resync period (a missed announcement heals within it). */
    DISCOVERY_RESYNC: durationMs("2s"),
    /** Apply the live configuration (`npm run config`) from Redis. */
    LIVE_CONFIG: booleanFlag(true),
    // Rate limiting (gateway/src/plugins/rate-limit.ts; README, "Rate limiting").
    /** Rate-limit operations (default rules: login/register per address and email, a per-address bucket). */
    RATE_LIMIT: booleanFlag(true),
    /** `redis`: counters shared by every gateway instance; `memory`: this instance's own (exact for one). */
    RATE_LIMIT_STORE: z.enum(["redis", "memory"]).default("redis"),
    /** Prefix of the rate-limit keys in Redis. @default `${CONTROL_PLANE_PREFIX}ratelimit:` */
    RATE_LIMIT_PREFIX: z.string().min(1).optional(),
    /** The rules as JSON (replacing the defaults); the live configuration's `rateLimit.rules` overrides them. */
    RATE_LIMIT_RULES: jsonOf(rateLimitRulesSchema, { asWritten: true }),
    /** What decides while Redis cannot: `local` (this instance's counters), `allow` or `deny`. */
    RATE_LIMIT_REDIS_DOWN: redisDownPolicySchema.default("local"),
    ...subgraphUrlEnv,
    // Query limits and HTTP hygiene (README, Query limits): QUERY_MAX_*, QUERY_COST_CONFIG, HTTP_BODY_LIMIT,
    // HTTP_MAX_HEADER_BYTES, CORS_ORIGINS, CORS_CREDENTIALS, TRUST_PROXY, and the subgraph health check period.
    ...queryLimitsEnv,
    ...httpLimitsEnv,
    ...httpHygieneEnv,
    /** How often the gateway checks each subgraph's health in the background (readiness body and metrics). */
    SUBGRAPH_HEALTH_INTERVAL: durationMs("5s"),
  })
  .superRefine(refuseDevSigningKeysInProduction, evenIfOtherVariablesFail);

export type Env = z.infer<typeof envSchema>;

/** Parses the environment; exits with every problem listed when invalid. */
export function loadEnv(env: RawEnv = process.env): Env {
  return loadEnvOrExit("gateway", envSchema, env);
}

/** The subgraph URL overrides set in `env`, by subgraph name. */
export function subgraphUrlOverrides(env: Env): Record<string, string> {
  const overrides: Record<string, string> = {};
  const values = env as unknown as Record<string, unknown>;
  for (const name of SUBGRAPH_NAMES) {
    const value = values[subgraphUrlVariable(name)];
    if (typeof value === "string") overrides[name] = value;
  }
  return overrides;
}

/**
 * The resilience settings of the call path: RESILIENCE_CONFIG, with REQUEST_DEADLINE and SUBGRAPH_TIMEOUT as the
 * deadline and the default attempt timeout where it does not set them.
 */
export function resilienceConfigOf(env: Pick<Env, "SUBGRAPH_TIMEOUT" | "REQUEST_DEADLINE" | "RESILIENCE_CONFIG">): ResilienceConfigInput {
  const own = env.RESILIENCE_CONFIG ?? {};
  return {
    ...own,
    deadlineMs: own.deadlineMs ?? env.REQUEST_DEADLINE,
    defaults: { ...own.defaults, timeout: { attemptMs: env.SUBGRAPH_TIMEOUT, ...own.defaults?.timeout } },
  };
}
