/**
 * The query-plan cache, bounded by size. @apollo/gateway 2.14 already keeps one (an InMemoryLRUCache of ~30 MiB,
 * entries sized by their JSON, cleared on every supergraph change); this is the same cache with its bound taken
 * from configuration and its hits and misses counted, so a plan cache too small for the traffic's operations
 * (every request planned anew: tens of ms of CPU each) shows on /metrics instead of only as latency.
 */
import type { GatewayConfig } from "@apollo/gateway";
import { InMemoryLRUCache } from "@apollo/utils.keyvaluecache";
import { Counter, type Registry } from "prom-client";

/** What ApolloGateway's `queryPlannerConfig.cache` takes. */
export type QueryPlanCache = NonNullable<NonNullable<GatewayConfig["queryPlannerConfig"]>["cache"]>;
type QueryPlan = NonNullable<Awaited<ReturnType<QueryPlanCache["get"]>>>;

/** A size-bounded plan cache counting `gateway_query_plan_cache_total{result="hit"|"miss"}` on `registry`. */
export function createQueryPlanCache(options: { maxMiB: number; registry: Registry }): QueryPlanCache {
  const name = "gateway_query_plan_cache_total";
  const lookups =
    (options.registry.getSingleMetric(name) as Counter<"result"> | undefined) ??
    new Counter({ name, help: "Query-plan cache lookups by result (hit, miss).", labelNames: ["result"], registers: [options.registry] });
  const hits = lookups.labels({ result: "hit" });
  const misses = lookups.labels({ result: "miss" });
  const cache = new InMemoryLRUCache<QueryPlan>({ maxSize: Math.max(1, Math.round(options.maxMiB * 2 ** 20)) });
  return {
    async get(key) {
      const plan = await cache.get(key);
      (plan ? hits : misses).inc();
      return plan;
    },
    set: (key, value, setOptions) => cache.set(key, value, setOptions?.ttl ? { ttl: setOptions.ttl } : undefined),
    delete: (key) => cache.delete(key),
    clear: () => cache.clear(),
  };
}
