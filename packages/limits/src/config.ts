/**
 * The limits as plain data, validated by zod: built from the environment at boot, replaceable at run time
 * (`update()` of the limiter), so the dynamic configuration work can change them live.
 */
import { z } from "@ecom/config";

const limit = (what: string) => z.number().int().min(1, `${what} must be at least 1`);
const weight = z.number().min(0, "a weight cannot be negative");

/**
 * How big a list field is assumed to be, after IBM's GraphQL cost specification (`@listSize`), which Apollo
 * Router's demand control and Hive Gateway follow:
 * - `slicingArguments`: the list has as many items as the largest of these arguments (`first`, `last`); a list
 *   value (`_entities(representations:)`) counts its length;
 * - `assumedSize`: used when no slicing argument is given (or none is declared);
 * - `sizedFields`: the size applies to these child fields instead of the field itself (a Relay connection:
 *   `products(first: 100)` returns one connection whose `edges` has 100 items).
 */
export const listSizeSchema = z.strictObject({
  slicingArguments: z.array(z.string().min(1)).optional(),
  assumedSize: z.number().int().min(0).optional(),
  sizedFields: z.array(z.string().min(1)).optional(),
});
export type ListSize = z.infer<typeof listSizeSchema>;

/** Weight and list size of one field, `Type.field` in {@link CostConfig.fields} (like `@cost` + `@listSize`). */
export const fieldCostSchema = z.strictObject({
  /** Cost of one instance of the field, replacing the weight of its type. */
  weight: weight.optional(),
  listSize: listSizeSchema.optional(),
});
export type FieldCost = z.infer<typeof fieldCostSchema>;

/** The cost model: what {@link operationCost} adds up. */
export const costConfigSchema = z.strictObject({
  /**
   * Weight of one object (composite type) instance in the response.
   * @default 1
   */
  objectWeight: weight.default(1),
  /**
   * Weight of one scalar or enum value.
   * @default 0
   */
  leafWeight: weight.default(0),
  /**
   * Extra weight of each mutation root field (a write costs more than a read, as in Apollo Router's model).
   * @default 10
   */
  mutationWeight: weight.default(10),
  /**
   * Assumed size of a list without a slicing argument or an `assumedSize`.
   * @default 10
   */
  defaultListSize: z.number().int().min(0).default(10),
  /** Weight per type name, replacing `objectWeight`/`leafWeight` for that type. */
  types: z.record(z.string(), weight).default({}),
  /** Per field, keyed `Type.field` (e.g. `Query.products`). */
  fields: z
    .record(z.string().regex(/^[_A-Za-z][_0-9A-Za-z]*\.[_A-Za-z][_0-9A-Za-z]*$/, "keys are Type.field"), fieldCostSchema)
    .default({}),
});
export type CostConfig = z.infer<typeof costConfigSchema>;
export type CostConfigInput = z.input<typeof costConfigSchema>;

/** Every limit; a violation of any of them is QUERY_TOO_COMPLEX (HTTP 400). */
export const queryLimitsSchema = z.strictObject({
  /** Lexical tokens of a document (graphql-js counts them the same way: comments are not tokens). */
  maxTokens: limit("maxTokens"),
  /**
   * How deeply brackets nest in a document (selection sets, arguments, list and object literals) and selections
   * nest through fragment spreads: bounds every recursive walk (parser, validation, execution) so none can
   * overflow the stack.
   */
  maxNesting: limit("maxNesting"),
  /** Depth of field selections, fragments expanded (`{ me { id } }` is 2). */
  maxDepth: limit("maxDepth"),
  /** Aliased fields, fragments expanded. */
  maxAliases: limit("maxAliases"),
  /** Fields at the root of the operation, fragments expanded (each one is its own resolution, often a fetch). */
  maxRootFields: limit("maxRootFields"),
  /** Directive uses, fragments expanded. */
  maxDirectives: limit("maxDirectives"),
  /** Field selections once every fragment spread is expanded: what stops `2^n` fragment bombs. */
  maxFields: limit("maxFields"),
  /** {@link operationCost} of the operation with its variables. */
  maxCost: limit("maxCost"),
  /** Operations in one HTTP request (a JSON array body). */
  maxOperationsPerBatch: limit("maxOperationsPerBatch"),
  /**
   * Leave `__schema`/`__type` out of every measure (for development, where introspection is allowed; elsewhere
   * introspection is refused by validation anyway).
   * @default false
   */
  ignoreIntrospection: z.boolean().default(false),
  cost: costConfigSchema.default(costConfigSchema.parse({})),
});
export type QueryLimits = z.infer<typeof queryLimitsSchema>;
export type QueryLimitsInput = z.input<typeof queryLimitsSchema>;

/** Names of the measured rules, as they appear in `extensions.rule` and in metric labels. */
export const LIMIT_RULES = [
  "tokens",
  "nesting",
  "depth",
  "aliases",
  "rootFields",
  "directives",
  "fields",
  "cost",
  "operationsPerBatch",
  "resultSize",
  "responseBytes",
] as const;
export type LimitRule = (typeof LIMIT_RULES)[number];

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

/**
 * The environment variables of the limits (`QUERY_MAX_DEPTH`...), optional: unset ones keep the process's
 * defaults. Spread into a process's env schema; read back with {@link limitsFromEnv}.
 */
export const queryLimitsEnv = {
  QUERY_MAX_TOKENS: z.coerce.number().int().min(1).optional(),
  QUERY_MAX_NESTING: z.coerce.number().int().min(1).optional(),
  QUERY_MAX_DEPTH: z.coerce.number().int().min(1).optional(),
  QUERY_MAX_ALIASES: z.coerce.number().int().min(1).optional(),
  QUERY_MAX_ROOT_FIELDS: z.coerce.number().int().min(1).optional(),
  QUERY_MAX_DIRECTIVES: z.coerce.number().int().min(1).optional(),
  QUERY_MAX_FIELDS: z.coerce.number().int().min(1).optional(),
  QUERY_MAX_COST: z.coerce.number().int().min(1).optional(),
  QUERY_MAX_BATCH: z.coerce.number().int().min(1).optional(),
  /** JSON of a partial {@link CostConfig}, merged over the defaults (its `fields` and `types` entry by entry). */
  QUERY_COST_CONFIG: z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (text === undefined) return undefined;
      try {
        const parsed = costConfigSchema.partial().safeParse(JSON.parse(text));
        if (parsed.success) return parsed.data;
        ctx.addIssue({ code: "custom", message: `is not a valid cost configuration: ${parsed.error.issues[0]?.message ?? "invalid"}` });
      } catch {
        ctx.addIssue({ code: "custom", message: 'must be JSON, e.g. {"fields":{"Query.products":{"weight":2}}}' });
      }
      return z.NEVER;
    }),
};

/** What {@link queryLimitsEnv} parses to. */
export type QueryLimitsEnv = { [K in keyof typeof queryLimitsEnv]?: z.output<(typeof queryLimitsEnv)[K]> };

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
