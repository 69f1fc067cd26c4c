import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** Added to every series as the `service` label. */
  service: string;
  /**
   * Collect prom-client's default process metrics (CPU, memory, event loop lag, GC).
   * @default true
   */
  defaultMetrics?: boolean;
}

/** A registry of its own per process (never the global one) with the metrics every process exposes. */
export interface Metrics {
  registry: Registry;
  /** HTTP requests by method, route and status code. */
  httpRequestDuration: Histogram<"method" | "route" | "status_code">;
  /** GraphQL operations by name, type and outcome (`success` | `error`). */
  graphqlOperationDuration: Histogram<"operation_name" | "operation_type" | "outcome">;
  /** GraphQL errors by `extensions.code`. */
  graphqlErrors: Counter<"code">;
  /**
   * SQL statements the process sent to its database (a subgraph counts them with `onQuery` of `createPrismaAdapter`).
   * A sudden rise per request is the signature of an N+1; the end-to-end batching test reads it too. Stays 0 in a
   * process without a database (the gateway).
   */
  dbStatements: Counter;
}

/** Creates the process's {@link Metrics}. */
export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequestDuration: new Histogram({
      name: "http_request_duration_seconds",
      help: "HTTP request duration in seconds.",
      labelNames: ["method", "route", "status_code"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    graphqlOperationDuration: new Histogram({
      name: "graphql_operation_duration_seconds",
      help: "GraphQL operation duration in seconds.",
      labelNames: ["operation_name", "operation_type", "outcome"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    graphqlErrors: new Counter({
      name: "graphql_errors_total",
      help: "GraphQL errors by extensions.code.",
      labelNames: ["code"],
      registers: [registry],
    }),
    dbStatements: new Counter({
      name: "db_statements_total",
      help: "SQL statements sent to the service's database",
      registers: [registry],
    }),
  };
}
