/**
 * A subgraph's own protection (defense in depth: the gateway can be bypassed or misconfigured, and the query
 * planner rewrites client operations): the same HTTP guard and query limits as the gateway with the subgraph
 * defaults of @ecom/limits, an execution budget that stops a response growing past a bounded number of values and
 * bytes, and the DataLoader batch bound. Together with capped page sizes (`parsePageArgs`, 100) and the pools'
 * `statement_timeout` (@ecom/db), no single request can push the process past a bounded memory cost.
 */
import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import type { ValidationRule } from "graphql";
import { Counter, type Registry } from "prom-client";
import {
  createExecutionBudgetPlugin,
  createQueryLimiter,
  createQueryLimitsApolloPlugin,
  createRequestGuard,
  knownOperationTypesRule,
  LIMIT_RULES,
  limitsFromEnv,
  SUBGRAPH_LIMIT_DEFAULTS,
  type LimitViolation,
  type QueryLimiter,
  type QueryLimitsEnv,
  type QueryLimitsInput,
} from "@ecom/limits";
import type { Logger } from "@ecom/observability";

/** Most keys one DataLoader batch sends to the database in one statement, unless DATALOADER_MAX_BATCH says. */
export const DEFAULT_MAX_BATCH_SIZE = 500;
/** Most values (fields resolved and list items) of one response, unless RESULT_MAX_VALUES says. */
export const DEFAULT_MAX_RESULT_VALUES = 200_000;
/** Most bytes of text of one response, unless RESULT_MAX_BYTES says. */
export const DEFAULT_MAX_RESULT_BYTES = 16 * 1024 * 1024;

/** What `createLoaders` receives besides the identity: spread into every `new DataLoader(fn, { ...options })`. */
export interface LoaderOptions {
  /** @default DEFAULT_MAX_BATCH_SIZE */
  maxBatchSize: number;
}

/** The self-protection settings of a subgraph (see {@link selfProtectionFromEnv}). */
export interface SelfProtectionSettings {
  /** @default SUBGRAPH_LIMIT_DEFAULTS */
  limits?: QueryLimitsInput;
  /** @default DEFAULT_MAX_RESULT_VALUES */
  maxResultValues?: number;
  /** @default DEFAULT_MAX_RESULT_BYTES */
  maxResultBytes?: number;
  /** @default DEFAULT_MAX_BATCH_SIZE */
  maxBatchSize?: number;
  /** Largest accepted request body. @default "1mb" */
  bodyLimit?: string;
  /** Largest accepted request head, in bytes (431 beyond). @default 16384 */
  maxHeaderBytes?: number;
}

/** The variables every subgraph's env has (subgraphEnvSchema of @ecom/config). */
export interface SelfProtectionEnv extends QueryLimitsEnv {
  HTTP_BODY_LIMIT?: string | undefined;
  HTTP_MAX_HEADER_BYTES?: number | undefined;
  RESULT_MAX_VALUES?: number | undefined;
  RESULT_MAX_BYTES?: number | undefined;
  DATALOADER_MAX_BATCH?: number | undefined;
}

/** {@link SelfProtectionSettings} from QUERY_MAX_*, QUERY_COST_CONFIG, HTTP_*, RESULT_* and DATALOADER_MAX_BATCH. */
export function selfProtectionFromEnv(env: SelfProtectionEnv): SelfProtectionSettings {
  return {
    limits: limitsFromEnv(env, SUBGRAPH_LIMIT_DEFAULTS),
    ...(env.RESULT_MAX_VALUES === undefined ? {} : { maxResultValues: env.RESULT_MAX_VALUES }),
    ...(env.RESULT_MAX_BYTES === undefined ? {} : { maxResultBytes: env.RESULT_MAX_BYTES }),
    ...(env.DATALOADER_MAX_BATCH === undefined ? {} : { maxBatchSize: env.DATALOADER_MAX_BATCH }),
    ...(env.HTTP_BODY_LIMIT === undefined ? {} : { bodyLimit: env.HTTP_BODY_LIMIT }),
    ...(env.HTTP_MAX_HEADER_BYTES === undefined ? {} : { maxHeaderBytes: env.HTTP_MAX_HEADER_BYTES }),
  };
}

/** What {@link createSelfProtection} gives the server. */
export interface SelfProtection<TContext extends BaseContext> {
  limiter: QueryLimiter;
  /** Express middleware for `/graphql`, after the JSON body parser. */
  guard: ReturnType<typeof createRequestGuard>;
  /** The limits plugin (didResolveOperation) and the execution budget. */
  plugins: ApolloServerPlugin<TContext>[];
  validationRules: ValidationRule[];
  loaderOptions: LoaderOptions;
}

/** See the module comment; refusals are counted in `subgraph_query_limit_refusals_total{rule}`. */
export function createSelfProtection<TContext extends BaseContext>(
  settings: SelfProtectionSettings,
  registry: Registry,
  logger: Logger,
): SelfProtection<TContext> {
  const limiter = createQueryLimiter(settings.limits ?? SUBGRAPH_LIMIT_DEFAULTS);
  const refusals = new Counter({
    name: "subgraph_query_limit_refusals_total",
    help: "Requests a subgraph refused by its own query limits or execution budget (QUERY_TOO_COMPLEX), by rule.",
    labelNames: ["rule"],
    registers: [registry],
  });
  for (const rule of LIMIT_RULES) refusals.inc({ rule }, 0);
  const onViolation = (violation: LimitViolation) => {
    refusals.inc({ rule: violation.rule });
    logger.warn(
      { rule: violation.rule, limit: violation.limit, measured: violation.measured },
      "request refused by the subgraph's own limits",
    );
  };
  return {
    limiter,
    guard: createRequestGuard({ limiter, onViolation }),
    plugins: [
      createQueryLimitsApolloPlugin<TContext>({ limiter, onViolation }),
      createExecutionBudgetPlugin<TContext>({
        maxValues: settings.maxResultValues ?? DEFAULT_MAX_RESULT_VALUES,
        maxBytes: settings.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES,
        onViolation,
      }),
    ],
    validationRules: [knownOperationTypesRule],
    loaderOptions: { maxBatchSize: settings.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE },
  };
}
