/**
 * The thresholds of every policy as plain data, one zod schema per concern. Parsed at construction and again by
 * each `update()`, so a live change (the dynamic configuration work reads them from Redis) is validated exactly
 * like the boot-time one, and a bad change is refused while the old settings keep running.
 */
import { z } from "zod";

const ms = (max = 3_600_000) => z.number().int().min(0).max(max);
const positiveInt = (max = 1_000_000) => z.number().int().min(1).max(max);

/**
 * `z.object(fields)` where an absent field takes its value from `defaults`. The fields themselves stay free of
 * `.default()`, so that `z.object(fields).partial()` (an override) leaves absent fields absent instead of
 * filling them with defaults that would then override the `defaults` section.
 */
function withDefaults<F extends z.ZodRawShape>(fields: F, defaults: { [K in keyof F]: z.output<F[K]> }) {
  const shape = Object.fromEntries(
    Object.entries(fields).map(([key, field]) => [key, (field as unknown as z.ZodType).default(defaults[key as keyof F])]),
  );
  return z.object(shape as unknown as { [K in keyof F]: z.ZodDefault<F[K]> }).strict();
}

const breakerFields = {
  /** Off: every call goes through, nothing is counted. */
  enabled: z.boolean(),
  /** Opens after this many failures in a row (0: this trigger is off). */
  consecutiveFailures: z.number().int().min(0).max(10_000),
  /** Opens when failures / calls over the rolling window reach this ratio... */
  failureRatio: z.number().gt(0).max(1),
  /** ...once the window holds at least this many calls (0: the ratio trigger is off). */
  minimumRequests: z.number().int().min(0).max(1_000_000),
  /** Length of the rolling window. */
  windowMs: ms().min(100),
  /** The window is kept as this many buckets; one bucket ages out at a time. */
  windowBuckets: positiveInt(1000),
  /** How long the breaker stays open before it lets probes through (HALF_OPEN). */
  openMs: ms().min(1),
  /** Calls let through at once while HALF_OPEN; others fail fast as if open. */
  halfOpenMaxProbes: positiveInt(1000),
  /** Successful probes in a row that close the breaker again; one failed probe re-opens it. */
  successThreshold: positiveInt(1000),
};

/** Circuit breaker thresholds. */
export const breakerConfigSchema = withDefaults(breakerFields, {
  enabled: true,
  consecutiveFailures: 5,
  failureRatio: 0.5,
  minimumRequests: 20,
  windowMs: 10_000,
  windowBuckets: 10,
  openMs: 5000,
  halfOpenMaxProbes: 2,
  successThreshold: 2,
});

const retryFields = {
  enabled: z.boolean(),
  /** Attempts in total, the first included (1: no retry). */
  maxAttempts: positiveInt(10),
  /** Backoff before the first retry; times `multiplier` for each next one, capped at `maxDelayMs`. */
  baseDelayMs: ms(60_000),
  multiplier: z.number().min(1).max(10),
  maxDelayMs: ms(60_000),
  /** "full": a uniform delay in [0, backoff] (spreads a herd of retries); "none": exactly the backoff. */
  jitter: z.enum(["full", "none"]),
  /** A server's Retry-After longer than this is not waited for: the call fails instead. */
  maxRetryAfterMs: ms(),
  /** Retry budget: retries may add at most this share of the calls seen over the budget window... */
  budgetRatio: z.number().min(0).max(1),
  /** ...plus this many retries per second, so that low traffic can still retry at all. */
  budgetMinPerSecond: z.number().min(0).max(100_000),
  /** Window over which calls and retries are counted for the budget. */
  budgetWindowMs: ms().min(100),
};

/** Retry settings: how many attempts, how long between them, and how many retries overall (the budget). */
export const retryConfigSchema = withDefaults(retryFields, {
  enabled: true,
  maxAttempts: 3,
  baseDelayMs: 25,
  multiplier: 2,
  maxDelayMs: 1000,
  jitter: "full",
  maxRetryAfterMs: 5000,
  budgetRatio: 0.1,
  budgetMinPerSecond: 3,
  budgetWindowMs: 10_000,
});

const timeoutFields = {
  /** Longest wait for one attempt (sending, headers and body). */
  attemptMs: ms().min(1),
};

/** The timeout of one attempt (the overall deadline of a client request is {@link ResilienceConfig.deadlineMs}). */
export const timeoutConfigSchema = withDefaults(timeoutFields, { attemptMs: 5000 });

const bulkheadFields = {
  enabled: z.boolean(),
  /** Calls running at once. */
  maxConcurrent: positiveInt(100_000),
  /** Calls waiting for a slot; beyond this they are rejected at once (0: no queue). */
  maxQueue: z.number().int().min(0).max(1_000_000),
};

/** Bulkhead: how many calls run at once, and how many may wait for a slot. */
export const bulkheadConfigSchema = withDefaults(bulkheadFields, { enabled: true, maxConcurrent: 256, maxQueue: 1024 });

/** Everything one dependency's policy is made of. */
export const policyConfigSchema = z
  .object({
    breaker: breakerConfigSchema.default(breakerConfigSchema.parse({})),
    retry: retryConfigSchema.default(retryConfigSchema.parse({})),
    timeout: timeoutConfigSchema.default(timeoutConfigSchema.parse({})),
    bulkhead: bulkheadConfigSchema.default(bulkheadConfigSchema.parse({})),
  })
  .strict();

/** Overrides for one dependency: any subset of the policy settings, merged over the defaults. */
export const policyOverridesSchema = z
  .object({
    breaker: z.object(breakerFields).partial().strict().optional(),
    retry: z.object(retryFields).partial().strict().optional(),
    timeout: z.object(timeoutFields).partial().strict().optional(),
    bulkhead: z.object(bulkheadFields).partial().strict().optional(),
  })
  .strict();

/** The configuration of a {@link PolicyRegistry}: defaults, per-name overrides and the request deadline. */
export const resilienceConfigSchema = z
  .object({
    /** Longest time one client request may spend on its dependencies, retries and waits included. */
    deadlineMs: ms().min(1).default(10_000),
    /** In-flight dedup of identical reads (a dedup key is built by the caller). */
    dedup: z
      .object({ enabled: z.boolean().default(true) })
      .strict()
      .default({ enabled: true }),
    defaults: policyConfigSchema.default(policyConfigSchema.parse({})),
    /** By dependency name (a subgraph name in the gateway), merged over `defaults`. */
    overrides: z.record(z.string(), policyOverridesSchema).default({}),
  })
  .strict();

export type BreakerConfig = z.infer<typeof breakerConfigSchema>;
export type RetryConfig = z.infer<typeof retryConfigSchema>;
export type TimeoutConfig = z.infer<typeof timeoutConfigSchema>;
export type BulkheadConfig = z.infer<typeof bulkheadConfigSchema>;
export type PolicyConfig = z.infer<typeof policyConfigSchema>;
export type PolicyOverrides = z.infer<typeof policyOverridesSchema>;
export type ResilienceConfig = z.infer<typeof resilienceConfigSchema>;
/** What callers pass in: every field optional, defaults filled in by the schema. */
export type ResilienceConfigInput = z.input<typeof resilienceConfigSchema>;

/** Thrown by constructors and `update()` for settings that do not validate; names every offending path. */
export class ResilienceConfigError extends Error {
  readonly brand = "ResilienceConfigError" as const;
  constructor(readonly issues: readonly { path: string; message: string }[]) {
    super(`Invalid resilience settings: ${issues.map((i) => `${i.path || "(root)"}: ${i.message}`).join("; ")}`);
  }
}

/** Validates `input` against `schema`, throwing a {@link ResilienceConfigError} that lists every problem. */
export function parseConfig<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new ResilienceConfigError(result.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })));
  }
  return result.data;
}

/** The settings of dependency `name`: `defaults` with its overrides merged over them. */
export function policyConfigFor(config: ResilienceConfig, name: string): PolicyConfig {
  const own = config.overrides[name];
  if (!own) return config.defaults;
  return {
    breaker: { ...config.defaults.breaker, ...own.breaker },
    retry: { ...config.defaults.retry, ...own.retry },
    timeout: { ...config.defaults.timeout, ...own.timeout },
    bulkhead: { ...config.defaults.bulkhead, ...own.bulkhead },
  };
}
