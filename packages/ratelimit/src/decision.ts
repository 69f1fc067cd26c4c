/**
 * What a request is counted by (hits), and what the stores answer. A decision is all or nothing: a request is
 * admitted only if every hit fits, and then every hit is counted; a refused request counts nowhere (so a client
 * that waits as told by `Retry-After` is admitted then, and refused guesses do not lengthen their own ban).
 */
import type { RateLimitRule } from "./rules.ts";

/** One counter a request touches: a rule, the key of the client in it, and the weight of the request. */
export interface Hit {
  rule: RateLimitRule;
  /** The counter's key (rule, algorithm and a hash of the key parts; no personal data in it). */
  key: string;
  /** Weight (an integer of at least 1). */
  cost: number;
}

/** A store's answer for one hit. */
export interface HitOutcome {
  rule: RateLimitRule;
  /** The hit fits (it is counted only if the whole decision admits). */
  allowed: boolean;
  /** What is left of the limit after this decision. */
  remaining: number;
  /** Milliseconds until quota comes back: the oldest hit of a window leaves it, or a bucket is full again. */
  resetMs: number;
  /**
   * Milliseconds until this hit would fit (0 when it fits now); -1 when it never can (its weight is over the
   * rule's limit).
   */
  retryAfterMs: number;
}

/** Which part of the limiter decided. */
export type DecidedBy = "redis" | "memory" | "local" | "allow" | "deny" | "none";

/** The limiter's answer for one request. */
export interface Decision {
  allowed: boolean;
  /** One per hit, in the order of the hits. */
  outcomes: HitOutcome[];
  /** Milliseconds until the refused hits could all fit (0 when admitted; -1 when one never can). */
  retryAfterMs: number;
  /** `redis` or `memory` normally; `local`, `allow` or `deny` under the Redis-down policy; `none` without hits. */
  decidedBy: DecidedBy;
}

/** Where counters live. */
export interface RateLimitStore {
  /** Decides atomically over every hit (all or nothing, see the module comment). */
  decide(hits: readonly Hit[]): Promise<{ allowed: boolean; outcomes: HitOutcome[] }>;
}

/** The `retryAfterMs` of a decision: the longest wait among its refused hits, -1 if one can never fit. */
export function retryAfterOf(outcomes: readonly HitOutcome[]): number {
  let wait = 0;
  for (const o of outcomes) {
    if (o.allowed) continue;
    if (o.retryAfterMs < 0) return -1;
    wait = Math.max(wait, o.retryAfterMs);
  }
  return wait;
}
