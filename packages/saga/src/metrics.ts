/**
 * Prometheus metrics of the sagas, on the process's registry. Labels are the saga's name, its steps' names and
 * fixed outcome sets: bounded. Counters move inside the transaction of the transition (a rolled-back transition,
 * retried by its consumer, may count twice: rare, and the gauges, read from the database, are exact).
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** The saga metrics on one registry. */
export interface SagaMetrics {
  /** Sagas started. */
  started: Counter<"saga">;
  /** Sagas that ended: `completed` (every step succeeded) or `compensated` (cancelled and undone). */
  finished: Counter<"saga" | "outcome">;
  /** Step outcomes: succeeded, failed, timed_out, compensated. */
  steps: Counter<"saga" | "step" | "outcome">;
  /** Compensations sent again (no answer in time, or a failure). */
  compensationRetries: Counter<"saga" | "step">;
  /** Seconds from start to end, by outcome. */
  duration: Histogram<"saga" | "outcome">;
  /** Unfinished sagas by status (RUNNING, COMPENSATING), read from the database. */
  active: Gauge<"saga" | "status">;
  /** Unfinished sagas whose deadline passed more than the stuck threshold ago: nothing is advancing them. */
  stuck: Gauge<"saga">;
  /** Sagas whose compensation has been retried (it failed or went unanswered at least once). */
  failing: Gauge<"saga">;
}

function getOrCreate<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

/** The saga metrics on `registry`, created on first use. */
export function sagaMetrics(registry: Registry): SagaMetrics {
  const registers = [registry];
  return {
    started: getOrCreate(
      registry,
      "saga_started_total",
      () => new Counter({ name: "saga_started_total", help: "Sagas started.", labelNames: ["saga"], registers }),
    ),
    finished: getOrCreate(
      registry,
      "saga_finished_total",
      () =>
        new Counter({
          name: "saga_finished_total",
          help: "Sagas that ended, by outcome (completed, compensated).",
          labelNames: ["saga", "outcome"],
          registers,
        }),
    ),
    steps: getOrCreate(
      registry,
      "saga_steps_total",
      () =>
        new Counter({
          name: "saga_steps_total",
          help: "Saga step outcomes (succeeded, failed, timed_out, compensated).",
          labelNames: ["saga", "step", "outcome"],
          registers,
        }),
    ),
    compensationRetries: getOrCreate(
      registry,
      "saga_compensation_retries_total",
      () =>
        new Counter({
          name: "saga_compensation_retries_total",
          help: "Compensations sent again after a failure or no answer in time.",
          labelNames: ["saga", "step"],
          registers,
        }),
    ),
    duration: getOrCreate(
      registry,
      "saga_duration_seconds",
      () =>
        new Histogram({
          name: "saga_duration_seconds",
          help: "Seconds from a saga's start to its end, by outcome.",
          labelNames: ["saga", "outcome"],
          buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
          registers,
        }),
    ),
    active: getOrCreate(
      registry,
      "saga_active",
      () => new Gauge({ name: "saga_active", help: "Unfinished sagas by status.", labelNames: ["saga", "status"], registers }),
    ),
    stuck: getOrCreate(
      registry,
      "saga_stuck",
      () =>
        new Gauge({
          name: "saga_stuck",
          help: "Unfinished sagas whose deadline passed longer ago than the stuck threshold (nothing advances them).",
          labelNames: ["saga"],
          registers,
        }),
    ),
    failing: getOrCreate(
      registry,
      "saga_failing",
      () =>
        new Gauge({ name: "saga_failing", help: "Compensating sagas whose compensation was retried.", labelNames: ["saga"], registers }),
    ),
  };
}
