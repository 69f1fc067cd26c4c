/**
 * The limiter: turns a request's facts into hits of the rules in force, and asks a store to decide. With Redis it
 * follows a policy while Redis cannot answer (default: decide with an in-memory store of its own), logging each
 * change of state once and reporting every decision made without Redis through `onFallback`.
 */
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { retryAfterOf, type Decision, type Hit, type RateLimitStore } from "./decision.ts";
import { createMemoryStore } from "./memory-store.ts";
import { createRedisStore } from "./redis-store.ts";
import {
  rateLimitRulesSchema,
  redisDownPolicySchema,
  DEFAULT_RATE_LIMIT_RULES,
  type KeyPart,
  type RateLimitRule,
  type RateLimitRuleInput,
  type RedisDownPolicy,
} from "./rules.ts";

/** One root field of the operation, with the email it names (the `email` of `login`, `register`'s `input.email`). */
export interface RootFieldFact {
  name: string;
  email?: string | undefined;
}

/** What the limiter knows of a request (the gateway plugin extracts it from HTTP and the GraphQL operation). */
export interface RequestFacts {
  /** The client's address (after the trusted proxies). */
  ip?: string | undefined;
  /** The signed-in user's id; absent when anonymous. */
  userId?: string | undefined;
  /** The operation name; absent for an anonymous operation. */
  operationName?: string | undefined;
  operationType: "query" | "mutation" | "subscription";
  /** Every root field selected (aliases and root fragments included: `login` aliased 100 times is 100 entries). */
  rootFields: readonly RootFieldFact[];
  /** The operation's cost, asked only when a `weight: "cost"` rule matches. */
  cost?: () => number;
}

/** The minimal logger the limiter writes to (pino's shape). */
export interface LimiterLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

/** Options of {@link RateLimiter}. */
export interface RateLimiterOptions {
  /** @default DEFAULT_RATE_LIMIT_RULES */
  rules?: readonly RateLimitRuleInput[];
  /** Counters in Redis, shared by every instance; without it, counters are in this process only. */
  redis?: Redis;
  /** Prefix of the Redis keys. @default "ecom:ratelimit:" */
  prefix?: string;
  /** @default "local" */
  onRedisDown?: RedisDownPolicy;
  logger?: LimiterLogger;
  /** Called for every decision made without Redis (count it). */
  onFallback?: (policy: RedisDownPolicy, error: unknown) => void;
  /** Bound of the in-memory state (see createMemoryStore). */
  memoryMaxSize?: number;
  /** Clock of the in-memory store. @default Date.now */
  now?: () => number;
}

/** The settings `update()` changes live. */
export interface RateLimiterSettings {
  rules?: readonly RateLimitRuleInput[];
  onRedisDown?: RedisDownPolicy;
}

const ALGORITHM_TAG = { "sliding-window": "sw", "token-bucket": "tb" } as const;

/** A stable, short, non-reversible name of a key's values (no address or email is stored in clear). */
function digest(parts: readonly string[]): string {
  return digestText(parts.join("\u0000"));
}

const digestText = (text: string) => createHash("sha256").update(text).digest("base64url").slice(0, 22);

/**
 * {@link digest} remembering up to `max` answers (then forgetting them all and starting over): the same few
 * addresses and users come back on every request, and a hash per rule per request was most of what deciding cost
 * besides the store. Bounded: a flood of new addresses only costs a hash each, as without it.
 */
function rememberingDigest(max = 10_000): (parts: readonly string[]) => string {
  const remembered = new Map<string, string>();
  return (parts) => {
    const text = parts.join("\u0000");
    let name = remembered.get(text);
    if (name === undefined) {
      name = digestText(text);
      if (remembered.size >= max) remembered.clear();
      remembered.set(text, name);
    }
    return name;
  };
}

/** Emails compare case- and width-insensitively (`Alice@Example.com` and `alice@example.com` are one account). */
export function normalizeEmail(email: string): string {
  return email.normalize("NFKC").trim().toLowerCase();
}

/** The rules' hits for one request (see the rules' documentation in rules.ts). */
export function hitsOf(
  rules: readonly RateLimitRule[],
  facts: RequestFacts,
  digestOf: (parts: readonly string[]) => string = digest,
): Hit[] {
  const byKey = new Map<string, Hit>();
  let cost: number | undefined;
  const costOf = () => (cost ??= Math.max(1, Math.ceil(facts.cost?.() ?? 1)));
  for (const rule of rules) {
    const match = rule.match;
    if (match.operationTypes && !match.operationTypes.includes(facts.operationType)) continue;
    if (match.operations && (facts.operationName === undefined || !match.operations.includes(facts.operationName))) continue;
    const fields = match.rootFields ? facts.rootFields.filter((f) => match.rootFields!.includes(f.name)) : undefined;
    if (fields && fields.length === 0) continue;
    const values: string[] = [];
    let usable = true;
    for (const part of rule.key as KeyPart[]) {
      if (part === "email") continue;
      const value = part === "ip" ? facts.ip : part === "user" ? facts.userId : (facts.operationName ?? "(anonymous)");
      if (value === undefined || value === "") usable = false;
      values.push(`${part}=${value}`);
    }
    if (!usable) continue;
    // One counter per email with the email in the key, else one for the request; each counts its matching fields.
    const groups = new Map<string, number>();
    if (rule.key.includes("email")) {
      for (const field of fields ?? facts.rootFields) {
        if (field.email === undefined) continue;
        const email = normalizeEmail(field.email);
        groups.set(email, (groups.get(email) ?? 0) + 1);
      }
    } else {
      groups.set("", fields ? fields.length : 1);
    }
    for (const [email, count] of groups) {
      // Emails (login and register only: rare) are hashed each time, so that none is kept in clear in the memo.
      const key = `${rule.id}:${ALGORITHM_TAG[rule.algorithm]}:${email === "" ? digestOf(values) : digest([...values, `email=${email}`])}`;
      const weight = rule.weight === "cost" ? costOf() * count : count;
      const existing = byKey.get(key);
      if (existing) existing.cost += weight;
      else byKey.set(key, { rule, key, cost: weight });
    }
  }
  return [...byKey.values()];
}

/** Error of an invalid `update()`: the settings in force stay. */
export class RateLimitConfigError extends Error {
  readonly brand = "RateLimitConfigError" as const;
  constructor(readonly problems: readonly string[]) {
    super(`Invalid rate-limit settings: ${problems.join("; ")}`);
  }
}

/** See the module comment. */
export class RateLimiter {
  #rules: readonly RateLimitRule[];
  #policy: RedisDownPolicy;
  readonly #redis: Redis | undefined;
  readonly #shared: RateLimitStore | undefined;
  readonly #local: RateLimitStore;
  readonly #options: RateLimiterOptions;
  #down = false;
  readonly #digest = rememberingDigest();

  constructor(options: RateLimiterOptions = {}) {
    this.#options = options;
    this.#rules = options.rules ? RateLimiter.parseRules(options.rules) : DEFAULT_RATE_LIMIT_RULES;
    this.#policy = redisDownPolicySchema.parse(options.onRedisDown ?? "local");
    this.#redis = options.redis;
    this.#shared = options.redis ? createRedisStore({ redis: options.redis, prefix: options.prefix ?? "ecom:ratelimit:" }) : undefined;
    this.#local = createMemoryStore({
      ...(options.memoryMaxSize === undefined ? {} : { maxSize: options.memoryMaxSize }),
      ...(options.now ? { now: options.now } : {}),
    });
  }

  /** Validates rules; throws {@link RateLimitConfigError} naming every problem. */
  static parseRules(rules: readonly RateLimitRuleInput[] | unknown): RateLimitRule[] {
    const parsed = rateLimitRulesSchema.safeParse(rules);
    if (!parsed.success)
      throw new RateLimitConfigError(parsed.error.issues.map((i) => `${i.path.length ? i.path.join(".") : "(rules)"}: ${i.message}`));
    return parsed.data;
  }

  /** The rules in force. */
  get rules(): readonly RateLimitRule[] {
    return this.#rules;
  }

  /** The Redis-down policy in force. */
  get onRedisDown(): RedisDownPolicy {
    return this.#policy;
  }

  /** Changes the rules and/or the policy live; all checked before anything changes (throws, keeping both). */
  update(settings: RateLimiterSettings): void {
    const rules = settings.rules === undefined ? this.#rules : RateLimiter.parseRules(settings.rules);
    const policy = settings.onRedisDown === undefined ? this.#policy : redisDownPolicySchema.safeParse(settings.onRedisDown);
    if (typeof policy === "object" && !policy.success) throw new RateLimitConfigError([`onRedisDown: ${policy.error.issues[0]?.message}`]);
    this.#rules = rules;
    if (typeof policy === "object") this.#policy = policy.data;
  }

  /** Decides for one request: hits of the rules in force, all admitted or none counted. */
  async check(facts: RequestFacts): Promise<Decision> {
    const hits = hitsOf(this.#rules, facts, this.#digest);
    if (hits.length === 0) return { allowed: true, outcomes: [], retryAfterMs: 0, decidedBy: "none" };
    if (!this.#shared) return this.#decideLocal(hits);
    try {
      // Not connected: the policy at once, rather than a command that fails after its timeout.
      if (this.#redis?.status !== "ready") throw new Error(`Redis connection is ${this.#redis?.status ?? "absent"}`);
      const result = await this.#shared.decide(hits);
      if (this.#down) {
        this.#down = false;
        this.#options.logger?.info({ policy: this.#policy }, "rate limiting: Redis answers again, counters are shared again");
      }
      return { ...result, retryAfterMs: result.allowed ? 0 : retryAfterOf(result.outcomes), decidedBy: "redis" };
    } catch (error) {
      return this.#fallback(hits, error);
    }
  }

  async #decideLocal(hits: Hit[]): Promise<Decision> {
    const result = await this.#local.decide(hits);
    return { ...result, retryAfterMs: result.allowed ? 0 : retryAfterOf(result.outcomes), decidedBy: "memory" };
  }

  async #fallback(hits: Hit[], error: unknown): Promise<Decision> {
    const policy = this.#policy;
    if (!this.#down) {
      this.#down = true;
      this.#options.logger?.warn(
        { err: error, policy },
        `rate limiting: Redis cannot answer; ${policy === "local" ? "deciding with this instance's own counters" : policy === "allow" ? "admitting every request" : "refusing every request"} until it is back`,
      );
    }
    this.#options.onFallback?.(policy, error);
    switch (policy) {
      case "local": {
        const result = await this.#local.decide(hits);
        return { ...result, retryAfterMs: result.allowed ? 0 : retryAfterOf(result.outcomes), decidedBy: "local" };
      }
      case "allow":
        return {
          allowed: true,
          outcomes: hits.map((h) => ({ rule: h.rule, allowed: true, remaining: h.rule.limit, resetMs: 0, retryAfterMs: 0 })),
          retryAfterMs: 0,
          decidedBy: "allow",
        };
      case "deny":
        return {
          allowed: false,
          outcomes: hits.map((h) => ({ rule: h.rule, allowed: false, remaining: 0, resetMs: 1000, retryAfterMs: 1000 })),
          retryAfterMs: 1000,
          decidedBy: "deny",
        };
      default: {
        const unknown: never = policy;
        throw new Error(`unknown Redis-down policy ${String(unknown)}`);
      }
    }
  }
}
