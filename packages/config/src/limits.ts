/**
 * The query limits as plain data, validated by zod (the model; @ecom/limits applies it): built from the environment
 * at boot, replaceable at run time (`update()` of the limiter), so the dynamic configuration work can change them
 * live. Here rather than in @ecom/limits so that every env schema (the gateway's, subgraphEnvSchema) can declare
 * the variables.
 */
import { z } from "zod";

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

/** A number of milliseconds or a number with a unit (`ms`, `s`, `m`, `h`); unset stays undefined. */
const optionalDuration = () =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return undefined;
      const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(v.trim());
      if (!m) {
        ctx.addIssue({ code: "custom", message: `must be a duration such as 500ms, 30s, 15m or 1h (got "${v}")` });
        return z.NEVER;
      }
      return Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "ms") as "ms" | "s" | "m" | "h"]);
    });

/** A body size for express (`100kb`, `1mb`, `512`). */
const byteSize = () =>
  z
    .string()
    .regex(/^\d+(\.\d+)?\s*(b|kb|mb)?$/i, "must be a size such as 100kb or 1mb")
    .optional();

/** Pool and statement limits of a service's Postgres connection; unset ones keep @ecom/db's defaults. */
export const databaseEnv = {
  /** Connections in the pool (default 10). */
  DB_POOL_MAX: z.coerce.number().int().min(1).max(1000).optional(),
  /** Longest a statement may run before Postgres cancels it (default 5s). */
  DB_STATEMENT_TIMEOUT: optionalDuration(),
};

/** HTTP and execution limits every GraphQL process has; unset ones keep @ecom/service's defaults. */
export const httpLimitsEnv = {
  /** Largest accepted request body (default 1mb). */
  HTTP_BODY_LIMIT: byteSize(),
  /** Largest accepted request head, headers included, in bytes (default 16384). */
  HTTP_MAX_HEADER_BYTES: z.coerce.number().int().min(1024).max(1_048_576).optional(),
};

/** Execution limits of a subgraph; unset ones keep @ecom/service's defaults. */
export const executionLimitsEnv = {
  /** Most values (fields and list items) one response may hold (default 200000). */
  RESULT_MAX_VALUES: z.coerce.number().int().min(1).optional(),
  /** Most bytes of text one response may hold (default 16 MiB). */
  RESULT_MAX_BYTES: z.coerce.number().int().min(1).optional(),
  /** Most keys one DataLoader batch sends to the database in one statement (default 500). */
  DATALOADER_MAX_BATCH: z.coerce.number().int().min(1).max(10_000).optional(),
};
