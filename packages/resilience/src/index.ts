/**
 * Resilience policies for calls to a dependency: circuit breaker, retries with backoff under a budget, per-attempt
 * timeout and overall deadline, bulkhead, and in-flight deduplication. No HTTP and no GraphQL inside: callers say
 * what a result means (`judge`), the gateway's subgraph call path (gateway/src/fetch/) composes them.
 */
export { attemptSignal, type AttemptSignal } from "./attempt-signal.ts";
export {
  CircuitBreaker,
  type BreakerPermit,
  type BreakerState,
  type BreakerStateName,
  type BreakerTransition,
  type CircuitBreakerOptions,
} from "./breaker.ts";
export { Bulkhead, type BulkheadRelease } from "./bulkhead.ts";
export {
  breakerConfigSchema,
  bulkheadConfigSchema,
  parseConfig,
  policyConfigFor,
  policyConfigSchema,
  policyOverridesSchema,
  resilienceConfigSchema,
  ResilienceConfigError,
  retryConfigSchema,
  timeoutConfigSchema,
  type BreakerConfig,
  type BulkheadConfig,
  type PolicyConfig,
  type PolicyOverrides,
  type ResilienceConfig,
  type ResilienceConfigInput,
  type RetryConfig,
  type TimeoutConfig,
} from "./config.ts";
export { InflightDedup, type DedupRunOptions } from "./dedup.ts";
export {
  BrokenCircuitError,
  BulkheadRejectedError,
  CancelledError,
  DeadlineExceededError,
  isBrokenCircuitError,
  isBulkheadRejectedError,
  isCancelledError,
  isDeadlineExceededError,
  isResilienceError,
  isTimeoutError,
  ResilienceError,
  TimeoutError,
} from "./errors.ts";
export { Policy, type ExecuteOptions, type PolicyEvent, type PolicyOptions, type Verdict } from "./policy.ts";
export { PolicyRegistry, type PolicyRegistryOptions } from "./registry.ts";
export { backoffDelay, RetryBudget } from "./retry.ts";
export { RollingCounts } from "./rolling-window.ts";
