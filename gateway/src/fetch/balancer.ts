/**
 * Registry mode of the call path: the instance of a subgraph that serves each attempt, chosen by that subgraph's
 * {@link InstanceBalancer} (least-in-flight or round robin, outlier ejection, sticky canary split). Inside the
 * retries, so a retry after a dead instance's connection error goes to another instance; each instance URL gets
 * its own undici pool from the transport (pools are per origin).
 *
 * A subgraph without registered instances (DNS mode, or none registered yet) keeps its configured URL: the
 * platform (a Kubernetes Service) balances.
 */
import { InstanceBalancer, versionOf, type BalancerConfigInput, type CanaryRoute, type InstanceRecord } from "@ecom/discovery";
import { IDENTITY_HEADERS } from "@ecom/auth";
import type { Logger } from "@ecom/observability";
import { Counter, type Registry } from "prom-client";
import type { SubgraphCall, SubgraphFetch } from "../subgraph-datasource.ts";
import type { SubgraphFetchStage } from "./pipeline.ts";

/** Options of {@link InstanceRouting}. */
export interface InstanceRoutingOptions {
  logger: Logger;
  /** The process's metrics registry. */
  registry: Registry;
  /** Balancer settings until the live configuration says otherwise. @default balancerConfigSchema's defaults */
  balancer?: BalancerConfigInput;
}

/** The live routing state of every subgraph: its instances, its balancer settings, its canary route. */
export class InstanceRouting {
  private readonly balancers = new Map<string, InstanceBalancer>();
  private config: BalancerConfigInput;
  private canary: Readonly<Record<string, CanaryRoute>> = {};
  // The instances each call has tried: a retry of the same call avoids them while others are healthy.
  private readonly tried = new WeakMap<SubgraphCall, Set<string>>();
  private readonly requests: Counter<"subgraph" | "version" | "side" | "outcome">;
  private readonly logger: Logger;

  constructor(options: InstanceRoutingOptions) {
    this.config = options.balancer ?? {};
    this.logger = options.logger.child({ component: "routing" });
    this.requests = new Counter({
      name: "gateway_subgraph_instance_requests_total",
      help: "Subgraph calls by subgraph, instance version (release), canary side and outcome (success, error: connection failure, timeout or 5xx).",
      labelNames: ["subgraph", "version", "side", "outcome"],
      registers: [options.registry],
    });
  }

  private balancerOf(subgraph: string): InstanceBalancer {
    let balancer = this.balancers.get(subgraph);
    if (!balancer) {
      balancer = new InstanceBalancer({ name: subgraph, config: this.config });
      balancer.setCanary(this.canary[subgraph]);
      this.balancers.set(subgraph, balancer);
    }
    return balancer;
  }

  /** The registered instances of `subgraph` (an empty list: back to its configured URL). */
  setInstances(subgraph: string, instances: readonly InstanceRecord[]): void {
    this.balancerOf(subgraph).setInstances(instances.map((i) => ({ id: i.id, url: i.url, version: versionOf(i) })));
  }

  /** Balancer settings and canary routes, from the live configuration (already validated by its schema). */
  update(config: { balancer: BalancerConfigInput; canary: Readonly<Record<string, CanaryRoute>> }): void {
    // Validate every subgraph's change before applying any, so that a refused change leaves all of them as they were.
    new InstanceBalancer({ name: "validation", config: config.balancer });
    this.config = config.balancer;
    this.canary = config.canary;
    for (const [subgraph, balancer] of this.balancers) {
      balancer.update(config.balancer);
      balancer.setCanary(config.canary[subgraph]);
    }
    for (const subgraph of Object.keys(config.canary)) this.balancerOf(subgraph);
  }

  /** Instances of `subgraph` that are not ejected now. */
  healthyInstances(subgraph: string): number {
    const now = Date.now();
    return (this.balancers.get(subgraph)?.stats() ?? []).filter((s) => s.ejectedUntil <= now).length;
  }

  /** Per-instance state, for diagnostics and tests. */
  stats(subgraph: string) {
    return this.balancers.get(subgraph)?.stats() ?? [];
  }

  /** The call path stage of `subgraph`. */
  stage(subgraph: string): SubgraphFetchStage {
    return (next: SubgraphFetch): SubgraphFetch =>
      async (url, init = {}) => {
        const balancer = this.balancers.get(subgraph);
        if (!balancer || balancer.endpoints().length === 0) return next(url, init);
        const call = init.call;
        let tried = call ? this.tried.get(call) : undefined;
        if (call && !tried) this.tried.set(call, (tried = new Set()));
        const headers = init.headers as Record<string, string> | undefined;
        const choice = balancer.choose({ stickyKey: headers?.[IDENTITY_HEADERS.userId], pin: call?.canary, exclude: tried });
        if (!choice) return next(url, init);
        tried?.add(choice.endpoint.id);
        const labels = { subgraph, version: choice.endpoint.version, side: choice.side };
        try {
          const response = await next(choice.endpoint.url, init);
          const failed = response.status >= 500;
          choice.done(failed ? "failure" : "success");
          this.requests.inc({ ...labels, outcome: failed ? "error" : "success" });
          return response;
        } catch (error) {
          // A client that went away says nothing about the instance.
          const cancelled = call?.signal?.aborted === true;
          choice.done(cancelled ? "success" : "failure");
          this.requests.inc({ ...labels, outcome: "error" });
          if (!cancelled) this.logger.debug({ subgraph, instance: choice.endpoint.url, err: error }, "instance call failed");
          throw error;
        }
      };
  }
}
