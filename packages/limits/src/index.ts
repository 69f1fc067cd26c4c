/**
 * Query limits and request hygiene, shared by the gateway and every subgraph (defense in depth: each process
 * refuses what would exhaust it, whoever sent it).
 */
export {
  costConfigSchema,
  fieldCostSchema,
  listSizeSchema,
  queryLimitsSchema,
  queryLimitsEnv,
  limitsFromEnv,
  LIMIT_RULES,
  PLATFORM_FIELD_COSTS,
  GATEWAY_LIMIT_DEFAULTS,
  SUBGRAPH_LIMIT_DEFAULTS,
} from "./config.ts";
export type {
  CostConfig,
  CostConfigInput,
  FieldCost,
  LimitRule,
  ListSize,
  QueryLimits,
  QueryLimitsEnv,
  QueryLimitsInput,
} from "./config.ts";
export { operationCost, parseCostConfig, costConfigFromSdl, mergeCostConfig } from "./cost.ts";
export type { OperationCostInput } from "./cost.ts";
export { queryTooComplex, queryTooComplexBody, violationMessage } from "./errors.ts";
export type { LimitViolation } from "./errors.ts";
export { measureOperation, reachableFragments, spreadsOf } from "./measure.ts";
export type { MeasureOptions, OperationMeasures } from "./measure.ts";
export { scanDocument } from "./scan.ts";
export type { DocumentScan } from "./scan.ts";
export { createQueryLimiter } from "./limiter.ts";
export type { OperationCheck, OperationToCheck, QueryLimiter } from "./limiter.ts";
export { findIllFormedValue, illFormedInputError, illFormedLiteralArgument, isIllFormedString } from "./strings.ts";
export { createExecutionBudgetPlugin, createQueryLimitsApolloPlugin, GRAPHQL_NAME, knownOperationTypesRule } from "./apollo.ts";
export type { ExecutionBudgetOptions, QueryLimitsApolloPlugin, QueryLimitsApolloPluginOptions } from "./apollo.ts";
export { checkGraphQLRequest, createRequestGuard, jsonNesting, MAX_OPERATION_NAME_LENGTH } from "./http.ts";
export type { GuardRefusal, RequestGuardOptions } from "./http.ts";
