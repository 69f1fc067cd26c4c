/**
 * Counters in Redis, shared by every instance: one Lua script per decision (ioredis `defineCommand`: loaded once,
 * then called by its SHA), so that reading, deciding and counting every hit of a request is one atomic step and two
 * gateways can never both admit the last unit of a limit. Time is Redis's own (`TIME`), so instances with skewed
 * clocks agree.
 *
 * Hand-written because no well-kept library does this: rate-limiter-flexible only offers fixed windows (one Lua
 * call of SET NX + INCRBY + PTTL), which admit up to twice a limit across a window boundary, and has no token bucket
 * and no all-or-nothing decision over several rules. The arithmetic is the in-memory store's (memory-store.ts):
 * the unit tests pin one, the integration tests run the same cases against this one.
 *
 * The keys of one decision live in different hash slots: this needs a single Redis (or a primary with replicas),
 * not Redis Cluster.
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { HitOutcome, RateLimitStore } from "./decision.ts";

// KEYS: per hit two keys: the state (a hash for a bucket, a sorted set for a window) and the window's running sum.
// ARGV[1]: hits; ARGV[2]: an id unique to this decision; then per hit: algorithm (tb|sw), limit, window or refill
// interval (ms), refill tokens (0 for a window), weight.
// Returns { admitted (1|0), then per hit: fits (1|0), remaining, reset ms, retry-after ms (-1: never) }.
// A window's log entry is "<decision id>:<hit>:<weight>" scored by its time; expired entries leave the log (and
// the sum) on every decision touching the key.
export const DECIDE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = tonumber(ARGV[1])
local id = ARGV[2]
local hits = {}
local all = 1
local function weight(member) return tonumber(string.match(member, '(%d+)$')) end
for i = 1, n do
  local a = 2 + (i - 1) * 5
  local h = { alg = ARGV[a + 1], limit = tonumber(ARGV[a + 2]), span = tonumber(ARGV[a + 3]),
              refill = tonumber(ARGV[a + 4]), cost = tonumber(ARGV[a + 5]),
              key = KEYS[2 * i - 1], sumKey = KEYS[2 * i] }
  if h.alg == 'tb' then
    h.rate = h.refill / h.span
    local s = redis.call('HMGET', h.key, 't', 'at')
    local tokens, at = tonumber(s[1]), tonumber(s[2])
    if tokens == nil or at == nil then tokens = h.limit; at = now end
    if now > at then tokens = math.min(h.limit, tokens + (now - at) * h.rate) end
    h.tokens = tokens
    h.ok = h.cost <= tokens
    h.before = math.floor(tokens)
    h.after = h.ok and math.floor(tokens - h.cost) or h.before
    if h.ok then h.retry = 0 elseif h.cost > h.limit then h.retry = -1 else h.retry = math.ceil((h.cost - tokens) / h.rate) end
  else
    local horizon = now - h.span
    local sum = tonumber(redis.call('GET', h.sumKey))
    if sum == nil then
      sum = 0
      for _, m in ipairs(redis.call('ZRANGE', h.key, 0, -1)) do sum = sum + weight(m) end
    end
    local expired = redis.call('ZRANGEBYSCORE', h.key, '-inf', horizon)
    for _, m in ipairs(expired) do sum = sum - weight(m) end
    if #expired > 0 then redis.call('ZREMRANGEBYSCORE', h.key, '-inf', horizon) end
    if sum < 0 then sum = 0 end
    h.sum = sum
    h.ok = sum + h.cost <= h.limit
    h.before = math.max(0, h.limit - sum)
    h.after = h.ok and math.max(0, h.limit - sum - h.cost) or h.before
    if h.ok then h.retry = 0
    elseif h.cost > h.limit then h.retry = -1
    else
      local need, freed = sum + h.cost - h.limit, 0
      h.retry = -1
      local log = redis.call('ZRANGE', h.key, 0, -1, 'WITHSCORES')
      for j = 1, #log, 2 do
        freed = freed + weight(log[j])
        if freed >= need then h.retry = tonumber(log[j + 1]) + h.span - now; break end
      end
    end
  end
  if not h.ok then all = 0 end
  hits[i] = h
end
local out = { all }
for i = 1, n do
  local h = hits[i]
  local reset
  if h.alg == 'tb' then
    local left = h.tokens
    if all == 1 then
      left = h.tokens - h.cost
      reset = math.ceil((h.limit - left) / h.rate)
      redis.call('HSET', h.key, 't', tostring(left), 'at', now)
      redis.call('PEXPIRE', h.key, reset + 1000)
    else
      reset = math.ceil((h.limit - left) / h.rate)
    end
  else
    if all == 1 then
      redis.call('ZADD', h.key, now, id .. ':' .. i .. ':' .. h.cost)
      redis.call('SET', h.sumKey, h.sum + h.cost, 'PX', h.span + 1000)
      redis.call('PEXPIRE', h.key, h.span + 1000)
    end
    local oldest = redis.call('ZRANGE', h.key, 0, 0, 'WITHSCORES')
    if oldest[2] then reset = tonumber(oldest[2]) + h.span - now else reset = 0 end
  end
  out[#out + 1] = h.ok and 1 or 0
  out[#out + 1] = all == 1 and h.after or h.before
  out[#out + 1] = reset
  out[#out + 1] = h.retry
end
return out
`;

const COMMAND = "ecomRateLimitDecide";

type DecideCommand = (numKeys: number, ...args: Array<string | number>) => Promise<number[]>;

/** Options of {@link createRedisStore}. */
export interface RedisStoreOptions {
  /**
   * The connection. On the request path it should fail fast while Redis is unreachable (`enableOfflineQueue:
   * false`, `maxRetriesPerRequest: 0`, a `commandTimeout`), so the limiter's Redis-down policy takes over at once.
   */
  redis: Redis;
  /** Prefix of every key, e.g. `ecom:ratelimit:`. */
  prefix: string;
}

/** A {@link RateLimitStore} in Redis (see the module comment). Throws when Redis cannot answer. */
export function createRedisStore(options: RedisStoreOptions): RateLimitStore {
  const redis = options.redis as Redis & { [COMMAND]?: DecideCommand };
  if (typeof redis[COMMAND] !== "function") redis.defineCommand(COMMAND, { lua: DECIDE_SCRIPT });
  const decide = (redis[COMMAND] as DecideCommand).bind(redis);
  // A decision's id only has to differ from every other decision's (it names its entries in a window's log): a
  // random prefix per store and a counter, rather than random bytes per decision (a synchronous call into the
  // CSPRNG on every request).
  const instance = randomBytes(9).toString("base64url");
  let decisions = 0;
  return {
    async decide(hits) {
      if (hits.length === 0) return { allowed: true, outcomes: [] };
      const keys: string[] = [];
      const args: Array<string | number> = [hits.length, `${instance}.${(decisions++).toString(36)}`];
      for (const hit of hits) {
        const key = `${options.prefix}${hit.key}`;
        keys.push(key, `${key}:sum`);
        const rule = hit.rule;
        if (rule.algorithm === "token-bucket") args.push("tb", rule.limit, rule.refill.every, rule.refill.tokens, hit.cost);
        else args.push("sw", rule.limit, rule.window, 0, hit.cost);
      }
      const reply = await decide(keys.length, ...keys, ...args);
      const outcomes: HitOutcome[] = hits.map((hit, i) => ({
        rule: hit.rule,
        allowed: reply[1 + i * 4] === 1,
        remaining: Number(reply[2 + i * 4]),
        resetMs: Math.max(0, Number(reply[3 + i * 4])),
        retryAfterMs: Number(reply[4 + i * 4]),
      }));
      return { allowed: reply[0] === 1, outcomes };
    },
  };
}
