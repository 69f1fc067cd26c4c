/**
 * Prometheus metrics of the outbox relay and the consumers, on the process's own registry. Label values come from
 * the catalogue and the topology (message types, queue names) or small fixed sets, so series stay bounded; a job
 * whose type is not in the catalogue is counted as `unknown`.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { isMessageType } from "./catalogue.ts";

const LAG_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** The metrics of this package on one registry. */
export interface EventMetrics {
  /** Messages the relay sent to BullMQ, by type. */
  published: Counter<"type">;
  /** Relay rounds that failed (database or Redis unavailable...); the rows stay unsent and are retried. */
  relayErrors: Counter;
  /** Seconds from a message's transaction to its publication by the relay. */
  publishLag: Histogram;
  /** Unsent outbox rows (set by the relay on each scrape). */
  backlog: Gauge;
  /** Age in seconds of the oldest unsent outbox row; 0 when none (set by the relay on each scrape). */
  oldestUnsentAge: Gauge;
  /** Sent rows deleted after the retention period. */
  pruned: Counter<"table">;
  /** Messages handled by a consumer: `applied`, `duplicate` (already applied: no effect), `failed` (will retry), `dead` (dead letter). */
  consumed: Counter<"queue" | "type" | "outcome">;
  /** Failed attempts that BullMQ will retry with backoff. */
  retries: Counter<"queue" | "type">;
  /** Messages that became dead letters (malformed, or out of attempts), by reason. */
  deadLettered: Counter<"queue" | "type" | "reason">;
  /** Handler time, in seconds (the database transaction included). */
  handlerDuration: Histogram<"queue" | "type">;
  /** Seconds a job waited in its queue before a worker took it (this attempt). */
  queueWait: Histogram<"queue">;
  /** Seconds from a message's transaction to its effect in the consumer: the end-to-end lag. */
  endToEndLag: Histogram<"queue" | "type">;
  /** Jobs per queue and state (`waiting`, `active`, `delayed`, `failed` = dead letters, `completed`), read on each scrape. */
  queueJobs: Gauge<"queue" | "state">;
}

/** A label value for a type read from untrusted data. */
export const typeLabel = (type: unknown) => (isMessageType(type) ? type : "unknown");

function getOrCreate<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

/** The package's metrics on `registry`, created on first use (a second relay or consumer in a process shares them). */
export function eventMetrics(registry: Registry): EventMetrics {
  const registers = [registry];
  return {
    published: getOrCreate(
      registry,
      "outbox_published_total",
      () =>
        new Counter({
          name: "outbox_published_total",
          help: "Outbox messages sent to BullMQ by the relay.",
          labelNames: ["type"],
          registers,
        }),
    ),
    relayErrors: getOrCreate(
      registry,
      "outbox_relay_errors_total",
      () => new Counter({ name: "outbox_relay_errors_total", help: "Relay rounds that failed and will be retried.", registers }),
    ),
    publishLag: getOrCreate(
      registry,
      "outbox_publish_lag_seconds",
      () =>
        new Histogram({
          name: "outbox_publish_lag_seconds",
          help: "Seconds from a message's transaction to its publication by the relay.",
          buckets: LAG_BUCKETS,
          registers,
        }),
    ),
    backlog: getOrCreate(
      registry,
      "outbox_backlog_messages",
      () => new Gauge({ name: "outbox_backlog_messages", help: "Unsent outbox messages.", registers }),
    ),
    oldestUnsentAge: getOrCreate(
      registry,
      "outbox_oldest_unsent_age_seconds",
      () =>
        new Gauge({
          name: "outbox_oldest_unsent_age_seconds",
          help: "Age of the oldest unsent outbox message (0 when none): the relay's lag.",
          registers,
        }),
    ),
    pruned: getOrCreate(
      registry,
      "events_pruned_rows_total",
      () =>
        new Counter({
          name: "events_pruned_rows_total",
          help: "Outbox and inbox rows deleted after the retention period.",
          labelNames: ["table"],
          registers,
        }),
    ),
    consumed: getOrCreate(
      registry,
      "events_consumed_total",
      () =>
        new Counter({
          name: "events_consumed_total",
          help: "Messages handled by consumers, by outcome (applied, duplicate, failed, dead).",
          labelNames: ["queue", "type", "outcome"],
          registers,
        }),
    ),
    retries: getOrCreate(
      registry,
      "events_retries_total",
      () =>
        new Counter({
          name: "events_retries_total",
          help: "Failed attempts that will be retried with backoff.",
          labelNames: ["queue", "type"],
          registers,
        }),
    ),
    deadLettered: getOrCreate(
      registry,
      "events_dead_lettered_total",
      () =>
        new Counter({
          name: "events_dead_lettered_total",
          help: "Messages that became dead letters (reason: malformed, exhausted).",
          labelNames: ["queue", "type", "reason"],
          registers,
        }),
    ),
    handlerDuration: getOrCreate(
      registry,
      "events_handler_duration_seconds",
      () =>
        new Histogram({
          name: "events_handler_duration_seconds",
          help: "Consumer handler time including its transaction.",
          labelNames: ["queue", "type"],
          buckets: LAG_BUCKETS,
          registers,
        }),
    ),
    queueWait: getOrCreate(
      registry,
      "queue_job_wait_seconds",
      () =>
        new Histogram({
          name: "queue_job_wait_seconds",
          help: "Seconds a job waited in its queue before a worker took it.",
          labelNames: ["queue"],
          buckets: LAG_BUCKETS,
          registers,
        }),
    ),
    endToEndLag: getOrCreate(
      registry,
      "events_end_to_end_lag_seconds",
      () =>
        new Histogram({
          name: "events_end_to_end_lag_seconds",
          help: "Seconds from a message's transaction to its effect in a consumer.",
          labelNames: ["queue", "type"],
          buckets: LAG_BUCKETS,
          registers,
        }),
    ),
    queueJobs: getOrCreate(
      registry,
      "queue_jobs",
      () =>
        new Gauge({
          name: "queue_jobs",
          help: "Jobs per BullMQ queue and state (failed = dead letters).",
          labelNames: ["queue", "state"],
          registers,
        }),
    ),
  };
}
