import type { DocumentNode, GraphQLSchema, OperationDefinitionNode } from "graphql";
import { queryLimitsSchema, type CostConfig, type QueryLimits, type QueryLimitsInput } from "./config.ts";
import { operationCost, parseCostConfig } from "./cost.ts";
import type { LimitViolation } from "./errors.ts";
import { measureOperation, type OperationMeasures } from "./measure.ts";
import { scanDocument, type DocumentScan } from "./scan.ts";

/** An operation to check, as Apollo Server has it once the document is parsed and validated. */
export interface OperationToCheck {
  schema: GraphQLSchema;
  document: DocumentNode;
  operation: OperationDefinitionNode;
  variables?: Readonly<Record<string, unknown>> | null | undefined;
}

/** What {@link QueryLimiter.checkOperation} found. */
export interface OperationCheck {
  /** The first limit the operation goes over, or null. */
  violation: LimitViolation | null;
  measures: OperationMeasures;
  /** Its cost (undefined when a shape limit refused it first: the cost is not computed then). */
  cost: number | undefined;
}

/** The limits of one process, checked against requests; {@link QueryLimiter.update} replaces them live. */
export interface QueryLimiter {
  /** The limits in force. */
  readonly limits: QueryLimits;
  /**
   * Replaces the limits (validated: an invalid configuration throws and the old one stays in force). Requests
   * already past a check keep the verdict they got.
   */
  update(limits: QueryLimitsInput): void;
  /** Operations in one HTTP request. */
  checkBatch(operations: number): LimitViolation | null;
  /** Tokens and bracket nesting of a document's text, before it is parsed. */
  checkSource(text: string): LimitViolation | null;
  /** Every limit of a parsed operation, cost last. Measures are cached per operation node. */
  checkOperation(input: OperationToCheck): OperationCheck;
  /** {@link operationCost} with the limits' cost model, cached per document, operation and variables. */
  costOf(input: Omit<OperationToCheck, "operation"> & { operationName?: string | null | undefined }): number;
}

/** Variables longer than this as JSON are not part of a cache key (the cost is computed again instead). */
const MAX_CACHED_VARIABLES_JSON = 2048;
/** Cost results kept per document (one per distinct set of variables). */
const MAX_COSTS_PER_DOCUMENT = 32;
/** Document texts whose scan is kept, and the longest such text (a bound of about 4 MB of kept text). */
const MAX_KEPT_SCANS = 512;
const MAX_KEPT_SOURCE_LENGTH = 8192;

/** A {@link QueryLimiter} starting with `limits`. */
export function createQueryLimiter(limits: QueryLimitsInput): QueryLimiter {
  let current = queryLimitsSchema.parse(limits);
  let costConfig: CostConfig = parseCostConfig(current.cost);
  // Apollo Server hands out the same DocumentNode for a query it has seen (its document store), so measures and
  // costs are computed once per document; a new configuration starts new caches.
  let measuresCache = new WeakMap<OperationDefinitionNode, OperationMeasures>();
  let costCache = new WeakMap<DocumentNode, Map<string, number>>();
  // Clients send the same few query texts over and over: each is lexed once, not on every request. The scan
  // depends on the text alone (not on the limits), so an update keeps it. Bounded: when full it starts over.
  const scans = new Map<string, DocumentScan>();
  const scanOf = (text: string): DocumentScan => {
    if (text.length > MAX_KEPT_SOURCE_LENGTH) return scanDocument(text);
    let scan = scans.get(text);
    if (!scan) {
      scan = scanDocument(text);
      if (scans.size >= MAX_KEPT_SCANS) scans.clear();
      scans.set(text, scan);
    }
    return scan;
  };

  const over = (rule: LimitViolation["rule"], limit: number, measured: number): LimitViolation | null =>
    measured > limit ? { rule, limit, measured } : null;

  const limiter: QueryLimiter = {
    get limits() {
      return current;
    },
    update(next) {
      const parsed = queryLimitsSchema.parse(next);
      costConfig = parseCostConfig(parsed.cost);
      current = parsed;
      measuresCache = new WeakMap();
      costCache = new WeakMap();
    },
    checkBatch: (operations) => over("operationsPerBatch", current.maxOperationsPerBatch, operations),
    checkSource(text) {
      const scan = scanOf(text);
      return over("tokens", current.maxTokens, scan.tokens) ?? over("nesting", current.maxNesting, scan.nesting);
    },
    checkOperation(input) {
      let measures = measuresCache.get(input.operation);
      if (!measures) {
        measures = measureOperation(input.document, input.operation, { ignoreIntrospection: current.ignoreIntrospection });
        measuresCache.set(input.operation, measures);
      }
      const shape =
        over("nesting", current.maxNesting, measures.nesting) ??
        over("fields", current.maxFields, measures.fields) ??
        over("depth", current.maxDepth, measures.depth) ??
        over("aliases", current.maxAliases, measures.aliases) ??
        over("rootFields", current.maxRootFields, measures.rootFields) ??
        over("directives", current.maxDirectives, measures.directives);
      if (shape) return { violation: shape, measures, cost: undefined };
      const cost = limiter.costOf({ ...input, operationName: input.operation.name?.value });
      return { violation: over("cost", current.maxCost, cost), measures, cost };
    },
    costOf(input) {
      let variablesJson: string;
      try {
        variablesJson = JSON.stringify(input.variables ?? {});
      } catch {
        // Too deep to serialise (the HTTP guard refuses such variables; a caller without it still gets a cost).
        variablesJson = "\u0000".repeat(MAX_CACHED_VARIABLES_JSON + 1);
      }
      const key = variablesJson.length <= MAX_CACHED_VARIABLES_JSON ? `${input.operationName ?? ""}\u0000${variablesJson}` : undefined;
      const byDocument = costCache.get(input.document);
      const cached = key === undefined ? undefined : byDocument?.get(key);
      if (cached !== undefined) return cached;
      const cost = operationCost({ ...input, config: costConfig });
      if (key !== undefined) {
        const map = byDocument ?? new Map<string, number>();
        if (!byDocument) costCache.set(input.document, map);
        if (map.size >= MAX_COSTS_PER_DOCUMENT) map.delete(map.keys().next().value as string);
        map.set(key, cost);
      }
      return cost;
    },
  };
  return limiter;
}
