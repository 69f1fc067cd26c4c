/**
 * An optional whole-response cache in Redis for public queries (RESPONSE_CACHE=true; off by default and in the
 * benchmark's main comparison).
 *
 * What may be cached, and for how long, follows Apollo's `@cacheControl` rules, with the hints given to the
 * gateway by type and by schema coordinate (as Hive Gateway's `ttlPerType` / `ttlPerSchemaCoordinate`), because
 * the supergraph carries no `@cacheControl` directives and our subgraphs send `no-store` when they have no hints:
 *
 * - every field the operation selects takes the hint of its return type (object, interface or union), with what
 *   its own `Type.field` hint sets over it;
 * - a root field, or a field with a composite result, without a hint gets `defaultMaxAge` (0 by default: the
 *   response is not cached), unless its hint says `inheritMaxAge`; a scalar field without a hint inherits;
 * - the response's max age is the smallest of the operation's; any PRIVATE hint makes it uncacheable.
 *
 * Only queries of anonymous callers (no Authorization header) are read from or written to the cache, and only
 * answers without errors are stored, so one user never receives another's data and a failure is never replayed.
 * Keys hash the operation, its variables and the schema they were answered against (a supergraph reload changes
 * the schema, hence every key). Redis failing or slow makes a request a miss, never an error.
 *
 * Hand-written on top of ioredis (which the platform already uses) rather than @apollo/server-plugin-response-cache
 * + keyv: that plugin reads its policy from `overallCachePolicy`, which in a gateway only the subgraphs' headers
 * set, and keyv would bring a second Redis client.
 */
import { createHash } from "node:crypto";
import type { ApolloServerPlugin, BaseContext, GraphQLResponse } from "@apollo/server";
import { HeaderMap } from "@apollo/server";
import type { Logger } from "@ecom/observability";
import { z } from "@ecom/config";
import {
  getNamedType,
  isCompositeType,
  isUnionType,
  Kind,
  printSchema,
  type DocumentNode,
  type FormattedExecutionResult,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import type { Redis } from "ioredis";
import { Counter, type Registry } from "prom-client";

/** One hint: seconds a value may be cached, who may share it, or that a field takes its parent's max age. */
export const cacheHintSchema = z
  .object({
    maxAge: z.number().int().min(0).max(86_400).optional(),
    scope: z.enum(["PUBLIC", "PRIVATE"]).optional(),
    inheritMaxAge: z.boolean().optional(),
  })
  .strict();

/** Hints by type name (`Product`) or schema coordinate (`Query.products`, `Product.stock`). */
export const cacheHintsSchema = z.record(z.string().regex(/^[_A-Za-z][_0-9A-Za-z]*(\.[_A-Za-z][_0-9A-Za-z]*)?$/), cacheHintSchema);

export type CacheHint = z.infer<typeof cacheHintSchema>;
export type CacheHints = z.infer<typeof cacheHintsSchema>;

/**
 * The platform's public catalogue: products and categories change rarely, stock often; connection and money
 * wrappers take their parent's age. Everything else (users, orders, payments, notifications) has no hint, so a
 * query touching it is never cached.
 */
export const DEFAULT_CACHE_HINTS: CacheHints = {
  "Query.products": { maxAge: 30 },
  "Query.product": { maxAge: 30 },
  "Query.categories": { maxAge: 300 },
  "Query.search": { maxAge: 30 },
  Product: { maxAge: 60 },
  Category: { maxAge: 300 },
  "Product.stock": { maxAge: 5 },
  "Product.inStock": { maxAge: 5 },
  ProductConnection: { inheritMaxAge: true },
  ProductEdge: { inheritMaxAge: true },
  PageInfo: { inheritMaxAge: true },
  Money: { inheritMaxAge: true },
};

/** Options of {@link createResponseCachePlugin}. */
export interface ResponseCachePluginOptions {
  /** The Redis client (its lifecycle is the caller's). */
  redis: Pick<Redis, "get" | "set">;
  logger: Logger;
  /** The process's metrics registry (`gateway_response_cache_total{result}`). */
  registry: Registry;
  /**
   * Prefix of every key.
   * @default "ecom:gateway:response:"
   */
  keyPrefix?: string;
  /**
   * Cache hints by type and schema coordinate (validated).
   * @default DEFAULT_CACHE_HINTS
   */
  hints?: CacheHints;
  /**
   * Max age of a root or composite field without a hint.
   * @default 0 (not cacheable)
   */
  defaultMaxAge?: number;
  /**
   * Larger answers are not stored.
   * @default 524288 (512 KiB)
   */
  maxEntryBytes?: number;
}

interface Policy {
  maxAge: number;
}

/** The max age of `operationName` in `document` (0: not cacheable); see the module comment for the rules. */
export function cachePolicyOf(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  hints: CacheHints,
  defaultMaxAge = 0,
): Policy {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName
    ? operations.find((o) => o.name?.value === operationName)
    : operations.length === 1
      ? operations[0]
      : undefined;
  if (!operation || operation.operation !== "query") return { maxAge: 0 };
  const fragments = new Map(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]),
  );
  const NOT_CACHEABLE = -1;

  /** The smallest max age under `selectionSet` of `parent`, where fields without hints inherit `inherited`. */
  function walk(
    selectionSet: SelectionSetNode,
    parent: GraphQLCompositeType,
    inherited: number,
    isRoot: boolean,
    seen: Set<string>,
  ): number {
    let maxAge = Number.POSITIVE_INFINITY;
    for (const selection of selectionSet.selections) {
      let age: number;
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        if (name === "__typename") continue;
        // Introspection is not cached; a field the schema does not know cannot be planned anyway.
        const field = name.startsWith("__") || isUnionType(parent) ? undefined : parent.getFields()[name];
        if (!field) return NOT_CACHEABLE;
        const type = getNamedType(field.type);
        // As Apollo does with @cacheControl: the type's hint, then what the field's own hint sets over it.
        const typeHint = isCompositeType(type) ? hints[type.name] : undefined;
        const fieldHint = hints[`${parent.name}.${name}`];
        const hint = typeHint && fieldHint ? { ...typeHint, ...fieldHint } : (fieldHint ?? typeHint);
        if (hint?.scope === "PRIVATE") return NOT_CACHEABLE;
        if (hint?.maxAge !== undefined) age = hint.maxAge;
        else if (hint?.inheritMaxAge) age = inherited;
        else if (isRoot || isCompositeType(type)) age = defaultMaxAge;
        else age = inherited;
        if (selection.selectionSet && isCompositeType(type)) {
          const below = walk(selection.selectionSet, type, age, false, seen);
          if (below === NOT_CACHEABLE) return NOT_CACHEABLE;
          age = Math.min(age, below);
        }
      } else {
        const fragment = selection.kind === Kind.INLINE_FRAGMENT ? selection : fragments.get(selection.name.value);
        if (!fragment) return NOT_CACHEABLE;
        if (selection.kind === Kind.FRAGMENT_SPREAD) {
          if (seen.has(selection.name.value)) continue;
          seen = new Set(seen).add(selection.name.value);
        }
        const condition = fragment.typeCondition ? schema.getType(fragment.typeCondition.name.value) : parent;
        if (!condition || !isCompositeType(condition)) return NOT_CACHEABLE;
        age = walk(fragment.selectionSet, condition, inherited, isRoot, seen);
        if (age === NOT_CACHEABLE) return NOT_CACHEABLE;
      }
      maxAge = Math.min(maxAge, age);
    }
    return maxAge;
  }

  const root = schema.getQueryType();
  if (!root) return { maxAge: 0 };
  const maxAge = walk(operation.selectionSet, root, Number.POSITIVE_INFINITY, true, new Set());
  return { maxAge: maxAge === NOT_CACHEABLE || !Number.isFinite(maxAge) ? 0 : maxAge };
}

/** See the module comment. */
export function createResponseCachePlugin<TContext extends BaseContext>(options: ResponseCachePluginOptions): ApolloServerPlugin<TContext> {
  const hints = cacheHintsSchema.parse(options.hints ?? DEFAULT_CACHE_HINTS);
  const prefix = options.keyPrefix ?? "ecom:gateway:response:";
  const maxEntryBytes = options.maxEntryBytes ?? 512 * 1024;
  const defaultMaxAge = options.defaultMaxAge ?? 0;
  const name = "gateway_response_cache_total";
  const lookups =
    (options.registry.getSingleMetric(name) as Counter<"result"> | undefined) ??
    new Counter({
      name,
      help: "Whole-response cache: hit, miss, stored, skipped (not cacheable), error (Redis failed: treated as a miss).",
      labelNames: ["result"],
      registers: [options.registry],
    });
  // Per schema (a reload brings a new one) and document (Apollo keeps parsed documents in its own cache).
  const schemaIds = new WeakMap<GraphQLSchema, string>();
  const policies = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, Map<string, Policy>>>();
  const schemaIdOf = (schema: GraphQLSchema) => {
    let id = schemaIds.get(schema);
    if (!id) {
      id = createHash("sha256").update(printSchema(schema)).digest("hex").slice(0, 16);
      schemaIds.set(schema, id);
    }
    return id;
  };
  const policyOf = (schema: GraphQLSchema, document: DocumentNode, operationName: string | null) => {
    let byDocument = policies.get(schema);
    if (!byDocument) policies.set(schema, (byDocument = new WeakMap()));
    let byName = byDocument.get(document);
    if (!byName) byDocument.set(document, (byName = new Map()));
    let policy = byName.get(operationName ?? "");
    if (!policy) byName.set(operationName ?? "", (policy = cachePolicyOf(schema, document, operationName, hints, defaultMaxAge)));
    return policy;
  };
  const log = options.logger.child({ component: "response-cache" });

  return {
    async requestDidStart({ request }) {
      // Anonymous callers only: a signed-in caller's answer may depend on who asks, whatever the hints say.
      if (request.http?.headers.get("authorization")) {
        lookups.inc({ result: "skipped" });
        return {};
      }
      let key: string | undefined;
      let maxAge = 0;
      let hit = false;
      return {
        async responseForOperation({ schema, document, operationName, request: req }): Promise<GraphQLResponse | null> {
          maxAge = policyOf(schema, document, operationName).maxAge;
          if (maxAge <= 0) {
            lookups.inc({ result: "skipped" });
            return null;
          }
          key = `${prefix}${createHash("sha256")
            .update(`${schemaIdOf(schema)}\n${operationName ?? ""}\n${req.query ?? ""}\n${JSON.stringify(req.variables ?? {})}`)
            .digest("hex")}`;
          let cached: string | null;
          try {
            cached = await options.redis.get(key);
          } catch (error) {
            lookups.inc({ result: "error" });
            log.debug({ err: error }, "response cache read failed: answering without it");
            return null;
          }
          if (cached === null) {
            lookups.inc({ result: "miss" });
            return null;
          }
          hit = true;
          lookups.inc({ result: "hit" });
          const headers = new HeaderMap([["cache-control", `max-age=${maxAge}, public`]]);
          return { http: { headers }, body: { kind: "single", singleResult: JSON.parse(cached) as FormattedExecutionResult } };
        },
        async willSendResponse({ response, overallCachePolicy }) {
          if (!key || maxAge <= 0 || response.body.kind !== "single") return;
          if (!response.body.singleResult.errors) {
            // The policy is ours, not the subgraphs' `no-store`: Apollo's cache-control plugin, whichever of us runs
            // last, then writes the same header.
            overallCachePolicy.replace({ maxAge, scope: "PUBLIC" });
          }
          response.http.headers.set("cache-control", response.body.singleResult.errors ? "no-store" : `max-age=${maxAge}, public`);
          if (hit || response.body.singleResult.errors) return;
          const value = JSON.stringify(response.body.singleResult);
          if (Buffer.byteLength(value) > maxEntryBytes) return;
          // Not awaited: the client's answer does not wait for Redis.
          options.redis.set(key, value, "PX", maxAge * 1000).then(
            () => lookups.inc({ result: "stored" }),
            (error: unknown) => {
              lookups.inc({ result: "error" });
              log.debug({ err: error }, "response cache write failed");
            },
          );
        },
      };
    },
  };
}
