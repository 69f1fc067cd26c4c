import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import type { Logger } from "pino";
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
}

/**
 * Apollo Server plugin: one log line and one histogram sample per operation, an error counter by code.
 * Anonymous operations are labelled `anonymous`; operation names are bounded by the schema's documents, but a
 * hostile client could send many names, so names longer than 64 characters are truncated.
 */
export function createObservabilityPlugin<TContext extends BaseContext>(options: ObservabilityPluginOptions): ApolloServerPlugin<TContext> {
  const slowMs = options.slowOperationMs ?? 1000;
  return {
    async requestDidStart() {
      const started = performance.now();
      let errorCount = 0;
      return {
        async didEncounterErrors({ errors }) {
          errorCount += errors.length;
          for (const error of errors) {
            const code = (error.extensions?.["code"] as string | undefined) ?? "INTERNAL_SERVER_ERROR";
            options.metrics.graphqlErrors.inc({ code });
          }
        },
        async willSendResponse({ operationName, operation }) {
          const seconds = (performance.now() - started) / 1000;
          const name = (operationName ?? "anonymous").slice(0, 64);
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
