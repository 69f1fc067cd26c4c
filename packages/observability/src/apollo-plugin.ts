import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import type { Logger } from "pino";
import { createBoundedLabel } from "./labels.ts";
import type { Metrics } from "./metrics.ts";

/** Options of {@link createObservabilityPlugin}. */
export interface ObservabilityPluginOptions {
  logger: Logger;
  metrics: Metrics;
  /**
   * Operations slower than this are logged at `warn`.
   * @default 1000
   */
  slowOperationMs?: number;
  /**
   * Distinct operation names kept as `operation_name` label values; later ones share `__other__`.
   * @default 200
   */
  maxOperationNames?: number;
  /** Operation names always kept (e.g. the operations of the typed client). */
  knownOperationNames?: Iterable<string>;
}

/**
 * Apollo Server plugin: one log line and one histogram sample per operation, an error counter by code.
 * Label values are bounded (createBoundedLabel): an operation without a name is `anonymous`, a request whose
 * operation was not resolved (a parse error, an unknown operationName) is `__unresolved__`, and names past the
 * first `maxOperationNames` (or not GraphQL names) are `__other__`; error codes are bounded the same way.
 */
export function createObservabilityPlugin<TContext extends BaseContext>(options: ObservabilityPluginOptions): ApolloServerPlugin<TContext> {
  const slowMs = options.slowOperationMs ?? 1000;
  const operationLabel = createBoundedLabel({
    max: options.maxOperationNames ?? 200,
    ...(options.knownOperationNames ? { known: options.knownOperationNames } : {}),
  });
  const codeLabel = createBoundedLabel({ max: 64, accept: (code) => /^[A-Z][A-Z0-9_]{0,63}$/.test(code) });
  return {
    async requestDidStart() {
      const started = performance.now();
      let errorCount = 0;
      return {
        async didEncounterErrors({ errors }) {
          errorCount += errors.length;
          for (const error of errors) {
            const code = error.extensions?.["code"];
            options.metrics.graphqlErrors.inc({ code: typeof code === "string" ? codeLabel(code) : "INTERNAL_SERVER_ERROR" });
          }
        },
        async willSendResponse({ operationName, operation }) {
          const seconds = (performance.now() - started) / 1000;
          const name = !operation ? "__unresolved__" : operationName ? operationLabel(operationName) : "anonymous";
          const type = operation?.operation ?? "unknown";
          const outcome = errorCount > 0 ? "error" : "success";
          options.metrics.graphqlOperationDuration.observe({ operation_name: name, operation_type: type, outcome }, seconds);
          const line = { operationName: name, operationType: type, durationMs: Math.round(seconds * 1000), errors: errorCount };
          if (seconds * 1000 > slowMs) options.logger.warn(line, "slow graphql operation");
          else options.logger.debug(line, "graphql operation");
        },
      };
    },
  };
}
