/**
 * Rate-limit rules are data: a zod model, so that the environment, the live configuration (`npm run config -- set
 * rateLimit.rules '<json>'`) and the limiter accept exactly the same values, and a refused value names every problem.
 */
import { z } from "zod";

/** The parts a rule's key is made of. A rule applies only to requests that have every part (see {@link RequestFacts}). */
export const KEY_PARTS = ["ip", "user", "operation", "email"] as const;
export type KeyPart = (typeof KEY_PARTS)[number];

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/;

/** A duration: milliseconds, or text such as `500ms`, `30s`, `15m`, `1h`. Parsed to milliseconds (1 ms to 24 h). */
export const durationSchema = z.union([z.number(), z.string()]).transform((value, ctx) => {
  let ms = typeof value === "number" ? value : Number.NaN;
  if (typeof value === "string") {
    const m = DURATION.exec(value.trim());
    if (m) ms = Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "ms") as "ms" | "s" | "m" | "h"]);
  }
  if (!Number.isInteger(ms) || ms < 1 || ms > 86_400_000) {
    ctx.addIssue({
      code: "custom",
      message: `must be a duration from 1ms to 24h, in ms or as 500ms, 30s, 15m, 1h (got ${JSON.stringify(value)})`,
    });
    return z.NEVER;
  }
  return ms;
});

const name = z.string().regex(/^[_A-Za-z][_0-9A-Za-z]{0,127}$/, "must be a GraphQL name");

/** Which requests a rule counts. Every given condition must hold; no condition: every operation. */
export const ruleMatchSchema = z
  .strictObject({
    /** Operation names (`operationName`, or the operation's own name). */
    operations: z.array(name).min(1).max(100).readonly().optional(),
    /**
     * Root fields (e.g. `login`, `register`). The request is counted once per matching root field, so `login`
     * aliased 100 times in one document counts 100.
     */
    rootFields: z.array(name).min(1).max(100).readonly().optional(),
    /** `query`, `mutation`. */
    operationTypes: z
      .array(z.enum(["query", "mutation", "subscription"]))
      .min(1)
      .optional(),
  })
  .default({});

const common = {
  /** Names the rule in headers (`RateLimit-Policy`), errors, logs and the `rule` label of metrics. */
  id: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,47}$/, "must be 1 to 48 of a-z, 0-9, _ . - (starting with a letter or digit)"),
  /** Free text for operators. */
  description: z.string().max(500).optional(),
  /**
   * What a key is made of: `ip` (the client address, see the gateway's TRUST_PROXY), `user` (the signed-in user's
   * id; anonymous requests are not counted by the rule), `operation` (the operation name), `email` (the `email` of
   * `login` / `register`; one count per distinct email). Several parts: one counter per combination.
   */
  key: z
    .array(z.enum(KEY_PARTS))
    .min(1)
    .max(KEY_PARTS.length)
    .refine((parts) => new Set(parts).size === parts.length, "lists a key part twice")
    .readonly(),
  match: ruleMatchSchema,
  /**
   * `hits`: each counted request (or matching root field) weighs 1. `cost`: it weighs the operation's cost (the
   * query-cost model of @ecom/limits, at least 1), so a heavy query uses up more of the budget than a light one.
   * @default "hits"
   */
  weight: z.enum(["hits", "cost"]).default("hits"),
  /** Most hits (or cost) the rule admits per key: the window's count, or the bucket's capacity. */
  limit: z.number().int().min(1).max(10_000_000),
};

/**
 * Sliding window (a log of the admitted hits, exact): at most `limit` in any `window` ending now. Smooth, no burst
 * at a window boundary (a fixed window admits up to twice the limit across one); memory grows with the admitted
 * hits of a window, so for large limits prefer a token bucket.
 */
export const slidingWindowRuleSchema = z.strictObject({
  ...common,
  algorithm: z.literal("sliding-window"),
  window: durationSchema,
  limit: common.limit.max(100_000),
});

/**
 * Token bucket: a bucket of `limit` tokens (the burst), refilled continuously with `refill.tokens` every
 * `refill.every` (the sustained rate); a hit takes its weight in tokens. Constant memory per key.
 */
export const tokenBucketRuleSchema = z.strictObject({
  ...common,
  algorithm: z.literal("token-bucket"),
  refill: z.strictObject({ tokens: z.number().int().min(1).max(10_000_000), every: durationSchema }),
});

/** One rule: `algorithm` selects its shape. */
export const rateLimitRuleSchema = z.discriminatedUnion("algorithm", [slidingWindowRuleSchema, tokenBucketRuleSchema]);

/** A list of rules with distinct ids (at most 50, so the `rule` label of metrics stays bounded). */
export const rateLimitRulesSchema = z
  .array(rateLimitRuleSchema)
  .max(50)
  .superRefine((rules, ctx) => {
    const seen = new Set<string>();
    rules.forEach((rule, i) => {
      if (seen.has(rule.id)) ctx.addIssue({ code: "custom", path: [i, "id"], message: `rule id "${rule.id}" is used twice` });
      seen.add(rule.id);
    });
  });

/** What the limiter does when Redis cannot answer a decision. */
export const redisDownPolicySchema = z.enum(["local", "allow", "deny"]);

export type RateLimitRule = z.infer<typeof rateLimitRuleSchema>;
export type RateLimitRuleInput = z.input<typeof rateLimitRuleSchema>;
export type SlidingWindowRule = z.infer<typeof slidingWindowRuleSchema>;
export type TokenBucketRule = z.infer<typeof tokenBucketRuleSchema>;
/**
 * `local`: decide with this instance's in-memory limiter (the same rules, counted per instance: N instances admit
 * up to N times a limit while Redis is down). `allow`: admit everything. `deny`: refuse everything with RATE_LIMITED.
 */
export type RedisDownPolicy = z.infer<typeof redisDownPolicySchema>;

/**
 * The defaults: strict rules against password guessing and account-creation floods on `login` and `register`, per
 * client address and per email (an attacker spreading guesses over many addresses still meets the per-email rule),
 * and a generous per-address bucket against floods. Change them live (README, "Rate limiting").
 */
export const DEFAULT_RATE_LIMIT_RULES: readonly RateLimitRule[] = rateLimitRulesSchema.parse([
  {
    id: "login-ip",
    description: "Password guesses from one address.",
    algorithm: "sliding-window",
    key: ["ip"],
    match: { rootFields: ["login"] },
    limit: 20,
    window: "1m",
  },
  {
    id: "login-email",
    description: "Password guesses against one account, from any address.",
    algorithm: "sliding-window",
    key: ["email"],
    match: { rootFields: ["login"] },
    limit: 10,
    window: "15m",
  },
  {
    id: "register-ip",
    description: "Accounts created from one address.",
    algorithm: "sliding-window",
    key: ["ip"],
    match: { rootFields: ["register"] },
    limit: 10,
    window: "10m",
  },
  {
    id: "register-email",
    description: "Registration attempts for one email.",
    algorithm: "sliding-window",
    key: ["email"],
    match: { rootFields: ["register"] },
    limit: 5,
    window: "1h",
  },
  {
    id: "ip",
    description: "Every operation from one address: a burst of 1000, then 500 a second.",
    algorithm: "token-bucket",
    key: ["ip"],
    limit: 1000,
    refill: { tokens: 500, every: "1s" },
  },
]);

/** The window a rule's `RateLimit-Policy` names: the sliding window, or the time a bucket takes to refill fully. */
export function policyWindowMs(rule: RateLimitRule): number {
  return rule.algorithm === "sliding-window" ? rule.window : Math.ceil((rule.limit * rule.refill.every) / rule.refill.tokens);
}
