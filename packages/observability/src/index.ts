export { createLogger, flushLogger } from "./logger.ts";
export type { Logger, LoggerOptions } from "./logger.ts";
export { createMetrics } from "./metrics.ts";
export type { Metrics, MetricsOptions } from "./metrics.ts";
export { createBackgroundChecks, createObservabilityHandlers, runReadinessChecks } from "./health.ts";
export type {
  BackgroundChecks,
  BackgroundChecksOptions,
  CachedCheckResult,
  ReadinessCheck,
  HealthReport,
  ObservabilityHandlersOptions,
} from "./health.ts";
export { createBoundedLabel, OTHER_LABEL } from "./labels.ts";
export type { BoundedLabelOptions } from "./labels.ts";
export { createRequestMiddleware } from "./http.ts";
export type { RequestMiddlewareOptions } from "./http.ts";
export { createObservabilityPlugin } from "./apollo-plugin.ts";
export type { ObservabilityPluginOptions } from "./apollo-plugin.ts";
export {
  currentRequestContext,
  runWithRequestContext,
  requestContextFromHeaders,
  REQUEST_ID_HEADER,
  CORRELATION_ID_HEADER,
} from "./context.ts";
export type { RequestContext } from "./context.ts";
