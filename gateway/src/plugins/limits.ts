/**
 * The gateway's query limits (@ecom/limits), in two places that both run before any subgraph is called:
 *
 * - `guard`, express middleware after the JSON body parser: batch size, `operationName` syntax, automatic
 *   persisted query version and hash, tokens and bracket nesting of the text, before Apollo Server parses it
 *   (parsing, validation and planning are recursive: a 10,000-level document must never reach them);
 * - the Apollo plugin (`didResolveOperation`, after validation, before the query planner and the executor): the
 *   operation's depth, aliases, root fields, directives, fields with fragments expanded and cost, an unknown
 *   `operationName` (OPERATION_RESOLUTION_FAILURE), NUL and lone surrogates in strings (BAD_USER_INPUT).
 *
 * Every refusal by a limit is QUERY_TOO_COMPLEX, HTTP 400, `extensions { rule, limit, measured }`, counted in
 * `gateway_query_limit_refusals_total{rule}`. `update()` replaces the limits while serving.
 */
import type { ValidationRule } from "graphql";
import { Counter, type Registry } from "prom-client";
import {
  createQueryLimiter,
  createQueryLimitsApolloPlugin,
  createRequestGuard,
  GATEWAY_LIMIT_DEFAULTS,
  knownOperationTypesRule,
  LIMIT_RULES,
  type LimitViolation,
  type QueryLimiter,
  type QueryLimits,
  type QueryLimitsApolloPlugin,
  type QueryLimitsInput,
} from "@ecom/limits";
import type { Logger } from "@ecom/observability";
import type { GatewayContext } from "../context.ts";

/** Options of {@link createLimitsPlugin}. */
export interface LimitsPluginOptions {
  /**
   * The limits (`limitsFromEnv(env, GATEWAY_LIMIT_DEFAULTS)` in the boot file).
   * @default GATEWAY_LIMIT_DEFAULTS
   */
  limits?: QueryLimitsInput;
  /** Where `gateway_query_limit_refusals_total` is registered. */
  registry: Registry;
  /** Logs each refusal at `info` (rule and numbers only: the query is never logged). */
  logger?: Logger;
}

/** The plugin and what goes with it in the server (see the module comment). */
export interface LimitsPlugin extends QueryLimitsApolloPlugin<GatewayContext> {
  readonly limiter: QueryLimiter;
  /** The limits in force. */
  readonly limits: QueryLimits;
  /** Replaces the limits while serving (validated: an invalid value throws and the old limits stay). */
  update(limits: QueryLimitsInput): void;
  /** Express middleware for `/graphql`, after the JSON body parser. */
  readonly guard: ReturnType<typeof createRequestGuard>;
  /** Apollo Server `validationRules`: a `subscription` (the supergraph has none) is GRAPHQL_VALIDATION_FAILED, not a 500. */
  readonly validationRules: ValidationRule[];
}

/** See the module comment. */
export function createLimitsPlugin(options: LimitsPluginOptions): LimitsPlugin {
  const limiter = createQueryLimiter(options.limits ?? GATEWAY_LIMIT_DEFAULTS);
  // Get-or-create: gateway instances sharing a registry (one process, as in the tests) share the series.
  const refusals =
    (options.registry.getSingleMetric("gateway_query_limit_refusals_total") as Counter<"rule"> | undefined) ??
    new Counter({
      name: "gateway_query_limit_refusals_total",
      help: "Requests refused by a query limit (QUERY_TOO_COMPLEX), by rule, before any subgraph call.",
      labelNames: ["rule"],
      registers: [options.registry],
    });
  // Every rule appears from the start (0), so a dashboard's rate() has a series before the first refusal.
  for (const rule of LIMIT_RULES) refusals.inc({ rule }, 0);
  const onViolation = (violation: LimitViolation) => {
    refusals.inc({ rule: violation.rule });
    options.logger?.info({ rule: violation.rule, limit: violation.limit, measured: violation.measured }, "query refused by a limit");
  };
  const plugin = createQueryLimitsApolloPlugin<GatewayContext>({ limiter, onViolation });
  return {
    requestDidStart: plugin.requestDidStart!.bind(plugin),
    costOf: plugin.costOf.bind(plugin),
    limiter,
    get limits() {
      return limiter.limits;
    },
    update: (limits: QueryLimitsInput) => limiter.update(limits),
    guard: createRequestGuard({ limiter, onViolation }),
    validationRules: [knownOperationTypesRule],
  };
}
