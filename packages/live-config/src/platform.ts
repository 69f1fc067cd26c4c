/**
 * The platform's live configuration document: one section per concern, each validated by the schema of the
 * package that owns the concern, so a value the CLI accepts is exactly a value the running policy accepts.
 *
 * ```
 * balancer   strategy and outlier ejection (@ecom/discovery)
 * canary     per subgraph: { version, weight } (@ecom/discovery)
 * flags      feature flags: name -> boolean
 * rateLimit  the gateway's rate-limit rules (the whole list, replacing the env's or the defaults) and what decides
 *            while Redis is down (@ecom/ratelimit)
 * resilience request deadline, dedup, and breaker/retry/timeout/bulkhead overrides, for every subgraph
 *            (`defaults`) or one (`overrides.<subgraph>`), merged over the gateway's env settings (@ecom/resilience)
 * ```
 */
import { balancerConfigSchema, canaryRouteSchema } from "@ecom/discovery";
import { DEFAULT_RATE_LIMIT_RULES, rateLimitRulesSchema, redisDownPolicySchema } from "@ecom/ratelimit";
import { policyOverridesSchema } from "@ecom/resilience";
import { z } from "zod";

/** Live overrides of the gateway's resilience settings (each absent field keeps the env's value). */
export const liveResilienceSchema = z
  .object({
    deadlineMs: z.number().int().min(1).max(3_600_000).optional(),
    dedup: z.object({ enabled: z.boolean() }).strict().optional(),
    defaults: policyOverridesSchema.optional(),
    overrides: z.record(z.string(), policyOverridesSchema).optional(),
  })
  .strict();

/**
 * Live rate limiting of the gateway: `rateLimit.rules` replaces the rules in force as a whole list;
 * `rateLimit.onRedisDown` the Redis-down policy. The defaults shown (`npm run config -- get rateLimit`) are the
 * built-in ones; a key not set in the document leaves the gateway's own setting (RATE_LIMIT_RULES,
 * RATE_LIMIT_REDIS_DOWN, else the built-in defaults) in force.
 */
export const liveRateLimitSchema = z
  .object({
    rules: rateLimitRulesSchema.default(() => [...DEFAULT_RATE_LIMIT_RULES]),
    onRedisDown: redisDownPolicySchema.default("local"),
  })
  .strict();

/** Feature flags: `flags.<name>` true or false. */
export const flagsSchema = z.record(z.string().regex(/^[a-zA-Z][\w-]{0,63}$/, "flag names are letters, digits, - and _"), z.boolean());

/** The live configuration of the platform (every field optional: absent means the owner's default). */
export const platformConfigSchema = z
  .object({
    balancer: balancerConfigSchema.default(balancerConfigSchema.parse({})),
    canary: z.record(z.string(), canaryRouteSchema).default({}),
    flags: flagsSchema.default({}),
    resilience: liveResilienceSchema.default({}),
    rateLimit: liveRateLimitSchema.prefault({}),
  })
  .strict();

export type PlatformConfig = z.infer<typeof platformConfigSchema>;
export type LiveResilience = z.infer<typeof liveResilienceSchema>;
export type LiveRateLimit = z.infer<typeof liveRateLimitSchema>;
