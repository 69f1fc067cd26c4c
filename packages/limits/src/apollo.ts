/**
 * Apollo Server adapters of the limits: the plugin that checks each resolved operation, the validation rule that
 * refuses operation types the schema lacks, and the execution budget a subgraph keeps as a last line.
 */
import type { ApolloServerPlugin, BaseContext, GraphQLRequestContext } from "@apollo/server";
import { ErrorCode } from "@ecom/errors";
import { GraphQLError, type DocumentNode, type ValidationRule } from "graphql";
import type { LimitViolation } from "./errors.ts";
import { queryTooComplex } from "./errors.ts";
import type { QueryLimiter } from "./limiter.ts";
import { scanDocument, type DocumentScan } from "./scan.ts";
import { illFormedInputError, illFormedLiteralArgument } from "./strings.ts";

/** A GraphQL name, as the grammar defines it. */
export const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

/** Options of {@link createQueryLimitsApolloPlugin}. */
export interface QueryLimitsApolloPluginOptions {
  limiter: QueryLimiter;
  /** Called with every refusal (count it in a metric). */
  onViolation?: (violation: LimitViolation) => void;
  /**
   * Refuse NUL characters and unpaired surrogates in variables and string literals with BAD_USER_INPUT.
   * @default true
   */
  rejectIllFormedStrings?: boolean;
}

/** The plugin, with the cost it measured for a request (the rate limiter weighs requests by it). */
export interface QueryLimitsApolloPlugin<TContext extends BaseContext> extends ApolloServerPlugin<TContext> {
  /**
   * The cost of the request's operation (measured by the plugin, or computed now if the plugin has not run yet);
   * undefined before the operation is resolved.
   */
  costOf(
    requestContext: Pick<GraphQLRequestContext<TContext>, "contextValue" | "document" | "operationName" | "request" | "schema">,
  ): number | undefined;
}

const resolutionError = (message: string) =>
  new GraphQLError(message, { extensions: { code: ErrorCode.OPERATION_RESOLUTION_FAILURE, http: { status: 400 } } });

/**
 * Runs in `didResolveOperation` (parsed, validated, before anything executes or any subgraph is called; an error
 * thrown there is the response, with its code and HTTP status):
 * 1. no operation matches: OPERATION_RESOLUTION_FAILURE (400) instead of the gateway's uncoded 500 for an
 *    unknown `operationName` or several operations without one;
 * 2. NUL or an unpaired surrogate in a string: BAD_USER_INPUT (400);
 * 3. every limit of the limiter, tokens included (for documents that reached Apollo without the HTTP guard,
 *    e.g. an automatic persisted query registered under older limits): QUERY_TOO_COMPLEX (400).
 */
export function createQueryLimitsApolloPlugin<TContext extends BaseContext>(
  options: QueryLimitsApolloPluginOptions,
): QueryLimitsApolloPlugin<TContext> {
  const rejectIllFormed = options.rejectIllFormedStrings ?? true;
  const costs = new WeakMap<object, number>();
  const scans = new WeakMap<DocumentNode, DocumentScan>();
  // Apollo Server hands out the same DocumentNode for a query it has seen: its literals are checked once.
  const literals = new WeakMap<DocumentNode, string | null>();
  const literalArgument = (document: DocumentNode): string | undefined => {
    let argument = literals.get(document);
    if (argument === undefined) literals.set(document, (argument = illFormedLiteralArgument(document) ?? null));
    return argument ?? undefined;
  };

  const refuse = (violation: LimitViolation): never => {
    options.onViolation?.(violation);
    throw queryTooComplex(violation);
  };

  return {
    costOf(requestContext) {
      const known = costs.get(requestContext.contextValue);
      if (known !== undefined || !requestContext.document) return known;
      return options.limiter.costOf({
        schema: requestContext.schema,
        document: requestContext.document,
        operationName: requestContext.operationName ?? requestContext.request.operationName,
        variables: requestContext.request.variables,
      });
    },
    async requestDidStart() {
      return {
        async didResolveOperation(requestContext) {
          const { document, operation, request, source } = requestContext;
          if (!operation) {
            const name = request.operationName;
            const operations = document.definitions.filter((d) => d.kind === "OperationDefinition").length;
            if (typeof name === "string" && name !== "") {
              throw resolutionError(
                GRAPHQL_NAME.test(name) && name.length <= 128 ? `Unknown operation named "${name}".` : "Unknown operation name.",
              );
            }
            throw resolutionError(
              operations > 1
                ? "Must provide operationName if the query contains several operations."
                : "The document contains no operation.",
            );
          }
          if (rejectIllFormed) {
            const error = illFormedInputError(document, request.variables, literalArgument);
            if (error) throw new GraphQLError(error.message, { extensions: { ...error.extensions, http: { status: 400 } } });
          }
          const { limits } = options.limiter;
          let scan = scans.get(document);
          if (!scan && source !== undefined) scans.set(document, (scan = scanDocument(source)));
          if (scan && scan.tokens > limits.maxTokens) refuse({ rule: "tokens", limit: limits.maxTokens, measured: scan.tokens });
          if (scan && scan.nesting > limits.maxNesting) refuse({ rule: "nesting", limit: limits.maxNesting, measured: scan.nesting });
          const check = options.limiter.checkOperation({
            schema: requestContext.schema,
            document,
            operation,
            variables: request.variables,
          });
          if (check.cost !== undefined) costs.set(requestContext.contextValue, check.cost);
          if (check.violation) refuse(check.violation);
        },
      };
    },
  };
}

/**
 * Refuses an operation whose type the schema has no root for (a `subscription` here): GRAPHQL_VALIDATION_FAILED
 * instead of the executor's uncoded 500. graphql-js 17 ships this rule (`KnownOperationTypesRule`); 16 does not.
 */
export const knownOperationTypesRule: ValidationRule = (context) => ({
  OperationDefinition(node) {
    if (!context.getSchema().getRootType(node.operation)) {
      context.reportError(new GraphQLError(`The schema does not support ${node.operation} operations.`, { nodes: node }));
    }
  },
});

/** Options of {@link createExecutionBudgetPlugin}. */
export interface ExecutionBudgetOptions {
  /**
   * Most values (fields resolved plus list items) one response may hold.
   * @default 200000
   */
  maxValues?: number;
  /**
   * Most bytes of text (string values, an estimate of the response size) one response may hold.
   * @default 16777216 (16 MiB)
   */
  maxBytes?: number;
  onViolation?: (violation: LimitViolation) => void;
}

/**
 * The last line of a subgraph: counts, while the operation executes, the values its result holds (every field
 * resolved, every list item) and the text it carries, and stops the operation once either goes over its budget,
 * answering one QUERY_TOO_COMPLEX (HTTP 400) without data. The static limits (depth, cost) refuse what they can
 * foresee; this bounds what they cannot (a list bigger than its assumed size), so no single request can grow a
 * process's memory without bound, whatever the data.
 */
export function createExecutionBudgetPlugin<TContext extends BaseContext>(
  options: ExecutionBudgetOptions = {},
): ApolloServerPlugin<TContext> {
  const maxValues = options.maxValues ?? 200_000;
  const maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
  return {
    async requestDidStart() {
      let values = 0;
      let bytes = 0;
      let exceeded: GraphQLError | undefined;
      const exceed = (violation: LimitViolation) => {
        options.onViolation?.(violation);
        // One error, already located (`path` set): graphql-js then reuses it for every field that fails after it
        // instead of allocating one error per field.
        const base = queryTooComplex(violation);
        exceeded = new GraphQLError(base.message, { path: [], extensions: base.extensions });
      };
      return {
        async executionDidStart() {
          return {
            willResolveField() {
              if (exceeded) throw exceeded;
              values += 1;
              if (values > maxValues) exceed({ rule: "resultSize", limit: maxValues, measured: values });
              return (error, result) => {
                if (error || exceeded) return;
                if (Array.isArray(result)) values += result.length;
                else if (typeof result === "string") bytes += result.length;
                if (values > maxValues) exceed({ rule: "resultSize", limit: maxValues, measured: values });
                else if (bytes > maxBytes) exceed({ rule: "responseBytes", limit: maxBytes, measured: bytes });
              };
            },
          };
        },
        async willSendResponse({ response }) {
          if (!exceeded || response.body.kind !== "single") return;
          const { http: _http, ...extensions } = exceeded.extensions as Record<string, unknown>;
          response.body.singleResult = { errors: [{ message: exceeded.message, extensions }] };
          response.http.status = 400;
        },
      };
    },
  };
}
