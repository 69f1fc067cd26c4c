/**
 * Counters in this process: exact for one instance (the same arithmetic as the Redis script, see redis-store.ts),
 * and the Redis limiter's fallback. Bounded: at most `maxSize` units of state (a bucket is 1, a window 1 + its
 * logged hits), the least recently used key forgotten first (a forgotten key starts afresh: lenient, never wrong
 * towards a well-behaved client).
 */
import { LRUCache } from "lru-cache";
import type { Hit, HitOutcome, RateLimitStore } from "./decision.ts";

interface BucketState {
  kind: "tb";
  tokens: number;
  at: number;
}

interface WindowState {
  kind: "sw";
  /** Admitted hits, oldest first. */
  log: Array<{ at: number; cost: number }>;
  sum: number;
}

type State = BucketState | WindowState;

/** Options of {@link createMemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Bound of the state kept (units: a bucket 1, a window 1 + its logged hits).
   * @default 1_000_000
   */
  maxSize?: number;
  /** Clock in milliseconds (tests pass a fake one). @default Date.now */
  now?: () => number;
}

interface Pending {
  hit: Hit;
  allowed: boolean;
  /** Left before and after counting this hit. */
  before: number;
  after: number;
  retryAfterMs: number;
  commit: () => void;
  resetMs: (committed: boolean) => number;
}

/** An in-memory {@link RateLimitStore}. */
export function createMemoryStore(options: MemoryStoreOptions = {}): RateLimitStore & { size(): number } {
  const now = options.now ?? Date.now;
  const states = new LRUCache<string, State>({
    maxSize: options.maxSize ?? 1_000_000,
    sizeCalculation: (state) => (state.kind === "tb" ? 1 : 1 + state.log.length),
  });

  function bucket(hit: Hit, t: number): Pending {
    const rule = hit.rule;
    if (rule.algorithm !== "token-bucket") throw new Error("unreachable");
    const rate = rule.refill.tokens / rule.refill.every;
    const state = states.get(hit.key);
    let tokens = state?.kind === "tb" ? state.tokens : rule.limit;
    const at = state?.kind === "tb" ? state.at : t;
    if (t > at) tokens = Math.min(rule.limit, tokens + (t - at) * rate);
    const allowed = hit.cost <= tokens;
    return {
      hit,
      allowed,
      before: Math.floor(tokens),
      after: Math.floor(allowed ? tokens - hit.cost : tokens),
      retryAfterMs: allowed ? 0 : hit.cost > rule.limit ? -1 : Math.ceil((hit.cost - tokens) / rate),
      commit: () => states.set(hit.key, { kind: "tb", tokens: tokens - hit.cost, at: t }),
      resetMs: (committed) => Math.ceil((rule.limit - (committed ? tokens - hit.cost : tokens)) / rate),
    };
  }

  function window(hit: Hit, t: number): Pending {
    const rule = hit.rule;
    if (rule.algorithm !== "sliding-window") throw new Error("unreachable");
    const found = states.get(hit.key);
    const state: WindowState = found?.kind === "sw" ? found : { kind: "sw", log: [], sum: 0 };
    // A hit logged at `at` counts while at > t - window (the window is (t - window, t]).
    const horizon = t - rule.window;
    let drop = 0;
    while (drop < state.log.length && state.log[drop]!.at <= horizon) state.sum -= state.log[drop++]!.cost;
    if (drop > 0) state.log.splice(0, drop);
    const allowed = state.sum + hit.cost <= rule.limit;
    let retryAfterMs = 0;
    if (!allowed) {
      retryAfterMs = -1;
      if (hit.cost <= rule.limit) {
        const need = state.sum + hit.cost - rule.limit;
        let freed = 0;
        for (const entry of state.log) {
          freed += entry.cost;
          if (freed >= need) {
            retryAfterMs = entry.at + rule.window - t;
            break;
          }
        }
      }
    }
    return {
      hit,
      allowed,
      before: Math.max(0, rule.limit - state.sum),
      after: Math.max(0, rule.limit - state.sum - (allowed ? hit.cost : 0)),
      retryAfterMs,
      commit: () => {
        state.log.push({ at: t, cost: hit.cost });
        state.sum += hit.cost;
        states.set(hit.key, state);
      },
      resetMs: (committed) => {
        const oldest = state.log[0];
        return oldest ? oldest.at + rule.window - t : committed ? rule.window : 0;
      },
    };
  }

  return {
    size: () => states.size,
    async decide(hits) {
      const t = now();
      const pending = hits.map((hit) => (hit.rule.algorithm === "token-bucket" ? bucket(hit, t) : window(hit, t)));
      const allowed = pending.every((p) => p.allowed);
      if (allowed) for (const p of pending) p.commit();
      const outcomes: HitOutcome[] = pending.map((p) => ({
        rule: p.hit.rule,
        allowed: p.allowed,
        remaining: allowed ? p.after : p.before,
        resetMs: p.resetMs(allowed),
        retryAfterMs: p.retryAfterMs,
      }));
      return { allowed, outcomes };
    },
  };
}
