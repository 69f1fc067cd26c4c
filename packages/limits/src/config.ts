/**
 * The platform's limits: defaults for the gateway and for a subgraph, and their environment overrides. The model
 * (zod schemas, the variables) lives in @ecom/config.
 */
import {
  costConfigSchema,
  fieldCostSchema,
  listSizeSchema,
  LIMIT_RULES,
  queryLimitsEnv,
  queryLimitsSchema,
  type CostConfig,
  type CostConfigInput,
  type FieldCost,
  type LimitRule,
  type ListSize,
  type QueryLimits,
  type QueryLimitsEnv,
  type QueryLimitsInput,
} from "@ecom/config";

export { costConfigSchema, fieldCostSchema, listSizeSchema, LIMIT_RULES, queryLimitsEnv, queryLimitsSchema };
export type { CostConfig, CostConfigInput, FieldCost, LimitRule, ListSize, QueryLimits, QueryLimitsEnv, QueryLimitsInput };

/**
 * List sizes of this platform's schema (docs/API.md), shared by the gateway and the subgraphs: each subgraph only
 * uses the entries of its own fields. Page arguments are capped at 100 by the resolvers (parsePageArgs), so
 * `first` is the real size; the assumed sizes are the domain's own bounds (at most 50 lines an order).
 */
export const PLATFORM_FIELD_COSTS: Record<string, FieldCost> = {
  "Query.products": { listSize: { slicingArguments: ["first"], sizedFields: ["edges"] } },
  "Query.search": { listSize: { slicingArguments: ["first"], sizedFields: ["edges"] } },
  "Query.lowStock": { listSize: { slicingArguments: ["first"] } },
  "Query.categories": { listSize: { assumedSize: 100 } },
  "User.orders": { listSize: { slicingArguments: ["first"], sizedFields: ["edges"] } },
  "User.notifications": { listSize: { slicingArguments: ["first"] } },
  "Order.items": { listSize: { assumedSize: 50 } },
  "Order.timeline": { listSize: { assumedSize: 20 } },
  // Federation: the gateway asks for as many entities as it sends representations.
  "Query._entities": { listSize: { slicingArguments: ["representations"] } },
};

/** The gateway's defaults: what a client operation may be. */
export const GATEWAY_LIMIT_DEFAULTS: QueryLimits = queryLimitsSchema.parse({
  maxTokens: 2000,
  maxNesting: 32,
  maxDepth: 12,
  maxAliases: 30,
  maxRootFields: 20,
  maxDirectives: 50,
  maxFields: 1000,
  maxCost: 25_000,
  maxOperationsPerBatch: 10,
  cost: { fields: PLATFORM_FIELD_COSTS },
});

/**
 * A subgraph's defaults: looser than the gateway's, since the query planner rewrites a client operation
 * (fragments inlined, `_entities` wrappers, `__typename`s added), yet bounded, so that a subgraph reached directly
 * or behind a misconfigured gateway still refuses what would exhaust it.
 */
export const SUBGRAPH_LIMIT_DEFAULTS: QueryLimits = queryLimitsSchema.parse({
  maxTokens: 10_000,
  maxNesting: 64,
  maxDepth: 32,
  maxAliases: 200,
  maxRootFields: 50,
  maxDirectives: 200,
  maxFields: 5000,
  maxCost: 100_000,
  maxOperationsPerBatch: 1,
  cost: { fields: PLATFORM_FIELD_COSTS },
});

/** The limits: `defaults` with whatever the environment sets. */
export function limitsFromEnv(env: QueryLimitsEnv, defaults: QueryLimits): QueryLimits {
  const cost = env.QUERY_COST_CONFIG;
  return queryLimitsSchema.parse({
    ...defaults,
    ...(env.QUERY_MAX_TOKENS === undefined ? {} : { maxTokens: env.QUERY_MAX_TOKENS }),
    ...(env.QUERY_MAX_NESTING === undefined ? {} : { maxNesting: env.QUERY_MAX_NESTING }),
    ...(env.QUERY_MAX_DEPTH === undefined ? {} : { maxDepth: env.QUERY_MAX_DEPTH }),
    ...(env.QUERY_MAX_ALIASES === undefined ? {} : { maxAliases: env.QUERY_MAX_ALIASES }),
    ...(env.QUERY_MAX_ROOT_FIELDS === undefined ? {} : { maxRootFields: env.QUERY_MAX_ROOT_FIELDS }),
    ...(env.QUERY_MAX_DIRECTIVES === undefined ? {} : { maxDirectives: env.QUERY_MAX_DIRECTIVES }),
    ...(env.QUERY_MAX_FIELDS === undefined ? {} : { maxFields: env.QUERY_MAX_FIELDS }),
    ...(env.QUERY_MAX_COST === undefined ? {} : { maxCost: env.QUERY_MAX_COST }),
    ...(env.QUERY_MAX_BATCH === undefined ? {} : { maxOperationsPerBatch: env.QUERY_MAX_BATCH }),
    cost: cost
      ? {
          ...defaults.cost,
          ...cost,
          types: { ...defaults.cost.types, ...cost.types },
          fields: { ...defaults.cost.fields, ...cost.fields },
        }
      : defaults.cost,
  });
}
