/**
 * Rate limiting: rules as data ({@link rateLimitRulesSchema}), token bucket and sliding window, an exact in-memory
 * store and a Redis store (one atomic Lua script per decision), and the {@link RateLimiter} that turns a request's
 * facts into hits and follows a policy while Redis is down. No HTTP or GraphQL in here: the gateway's plugin
 * (gateway/src/plugins/rate-limit.ts) is the adapter.
 */
export {
  DEFAULT_RATE_LIMIT_RULES,
  KEY_PARTS,
  durationSchema,
  policyWindowMs,
  rateLimitRuleSchema,
  rateLimitRulesSchema,
  redisDownPolicySchema,
  ruleMatchSchema,
  slidingWindowRuleSchema,
  tokenBucketRuleSchema,
} from "./rules.ts";
export type { KeyPart, RateLimitRule, RateLimitRuleInput, RedisDownPolicy, SlidingWindowRule, TokenBucketRule } from "./rules.ts";
export { retryAfterOf } from "./decision.ts";
export type { DecidedBy, Decision, Hit, HitOutcome, RateLimitStore } from "./decision.ts";
export { createMemoryStore } from "./memory-store.ts";
export type { MemoryStoreOptions } from "./memory-store.ts";
export { createRedisStore, DECIDE_SCRIPT } from "./redis-store.ts";
export type { RedisStoreOptions } from "./redis-store.ts";
export { RateLimiter, RateLimitConfigError, hitsOf, normalizeEmail } from "./limiter.ts";
export type { LimiterLogger, RateLimiterOptions, RateLimiterSettings, RequestFacts, RootFieldFact } from "./limiter.ts";
