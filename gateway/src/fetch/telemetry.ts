/**
 * Logs and Prometheus metrics of the subgraph call path: every breaker transition is logged (warn when it opens)
 * and counted; rejections, retries, denied retries, timeouts and merged fetches are counted per subgraph; the
 * breaker state and the bulkhead's load are gauges read at scrape time.
 */
import type { Logger } from "@ecom/observability";
import type { BreakerStateName, PolicyEvent, PolicyRegistry } from "@ecom/resilience";
import { Counter, Gauge, type Registry } from "prom-client";

/** `gateway_breaker_state` values. */
export const BREAKER_STATE_VALUE: Record<BreakerStateName, number> = { CLOSED: 0, HALF_OPEN: 1, OPEN: 2 };

function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: L[]): Counter<L> {
  return (registry.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter({ name, help, labelNames, registers: [registry] });
}

/** The telemetry of one call path. */
export interface CallPathTelemetry {
  /** Feed of every policy event (PolicyRegistry's `onEvent`). */
  onEvent(subgraph: string, event: PolicyEvent): void;
  /** A fetch merged into one in flight. */
  onDedupJoin(subgraph: string): void;
  /** Gauges read `policies` at scrape time. */
  observe(policies: PolicyRegistry): void;
}

/** Creates the metrics on `registry` (reusing them when a previous call path created them) and the log lines. */
export function createCallPathTelemetry(registry: Registry, logger: Logger): CallPathTelemetry {
  const transitions = counter(registry, "gateway_breaker_transitions_total", "Circuit breaker state changes.", ["subgraph", "from", "to"]);
  const rejections = counter(
    registry,
    "gateway_subgraph_rejections_total",
    "Subgraph calls refused without being sent (breaker open, bulkhead full).",
    ["subgraph", "reason"],
  );
  const retries = counter(registry, "gateway_subgraph_retries_total", "Subgraph calls retried.", ["subgraph"]);
  const retriesDenied = counter(
    registry,
    "gateway_subgraph_retries_denied_total",
    "Retries not made: the retry budget was spent, the deadline was too close or Retry-After too long.",
    ["subgraph", "cause"],
  );
  const timeouts = counter(registry, "gateway_subgraph_timeouts_total", "Subgraph attempts aborted at their timeout.", ["subgraph"]);
  const dedupJoins = counter(
    registry,
    "gateway_subgraph_dedup_total",
    "Subgraph fetches not sent because an identical one was in flight.",
    ["subgraph"],
  );
  let observed: PolicyRegistry | undefined;
  const gauge = (name: string, help: string, read: (policies: PolicyRegistry, set: (subgraph: string, value: number) => void) => void) => {
    if (registry.getSingleMetric(name)) registry.removeSingleMetric(name);
    new Gauge({
      name,
      help,
      labelNames: ["subgraph"],
      registers: [registry],
      collect() {
        if (observed) read(observed, (subgraph, value) => this.set({ subgraph }, value));
      },
    });
  };
  gauge("gateway_breaker_state", "Circuit breaker state per subgraph: 0 CLOSED, 1 HALF_OPEN, 2 OPEN.", (policies, set) => {
    for (const [name, policy] of policies.entries()) set(name, BREAKER_STATE_VALUE[policy.state]);
  });
  gauge("gateway_subgraph_inflight", "Subgraph calls running now (inside the bulkhead).", (policies, set) => {
    for (const [name, policy] of policies.entries()) set(name, policy.bulkhead.load.running);
  });
  gauge("gateway_subgraph_queued", "Subgraph calls waiting for a bulkhead slot.", (policies, set) => {
    for (const [name, policy] of policies.entries()) set(name, policy.bulkhead.load.queued);
  });
  const log = logger.child({ component: "call-path" });

  return {
    observe(policies) {
      observed = policies;
    },
    onDedupJoin(subgraph) {
      dedupJoins.inc({ subgraph });
    },
    onEvent(subgraph, event) {
      switch (event.type) {
        case "transition": {
          const { from, to, reason } = event.transition;
          transitions.inc({ subgraph, from, to });
          const line = { subgraph, from, to, reason };
          if (to === "OPEN") log.warn(line, `circuit breaker of ${subgraph} opened`);
          else log.info(line, `circuit breaker of ${subgraph} ${to === "CLOSED" ? "closed" : "half-open"}`);
          return;
        }
        case "rejected":
          rejections.inc({ subgraph, reason: event.reason === "circuit open" ? "circuit_open" : "bulkhead_full" });
          return;
        case "retry":
          retries.inc({ subgraph });
          log.debug({ subgraph, attempt: event.attempt, delayMs: event.delayMs, reason: event.reason }, "retrying subgraph call");
          return;
        case "retry-denied":
          retriesDenied.inc({ subgraph, cause: event.cause });
          return;
        case "timeout":
          timeouts.inc({ subgraph });
          return;
        default: {
          const never: never = event;
          throw new Error(`unknown policy event ${JSON.stringify(never)}`);
        }
      }
    },
  };
}
