/**
 * The gateway's subgraph call path, composed once per subgraph (BRIEF "Interfaces agreed", 1):
 *
 *   in-flight dedup  ->  resilience (deadline, retry, breaker, bulkhead, attempt timeout)  ->  instance choice
 *   (registry mode: balancer.ts)  ->  signing  ->  transport
 *
 * Each stage is a `(next: SubgraphFetch) => SubgraphFetch`. Signing is innermost but for the transport, so every
 * retry is signed afresh (new timestamp and nonce); it is supplied by gateway/src/fetch/sign.ts (the `trust`
 * work) through {@link CallPathOptions.signing}. Dedup is outermost, so merged fetches share one set of retries.
 *
 * The {@link SubgraphCallPath} outlives any ApolloGateway instance: policies are keyed by subgraph name in its
 * PolicyRegistry, pools by origin in its transport, so a supergraph reload keeps breakers, budgets and
 * connections.
 */
import type { Logger } from "@ecom/observability";
import { PolicyRegistry, type BreakerStateName, type ResilienceConfigInput } from "@ecom/resilience";
import type { Registry } from "prom-client";
import type { SubgraphFetch } from "../subgraph-datasource.ts";
import { dedupStage } from "./dedup.ts";
import { resilienceStage } from "./resilience.ts";
import { createCallPathTelemetry } from "./telemetry.ts";
import { createUndiciTransport, type UndiciTransport, type UndiciTransportOptions } from "./transport.ts";

/** One stage of the call path. */
export type SubgraphFetchStage = (next: SubgraphFetch) => SubgraphFetch;

/** `stages` (outermost first) around `innermost`. */
export function composeStages(stages: readonly SubgraphFetchStage[], innermost: SubgraphFetch): SubgraphFetch {
  return stages.reduceRight<SubgraphFetch>((next, stage) => stage(next), innermost);
}

/** Options of {@link SubgraphCallPath}. */
export interface CallPathOptions {
  /** Breaker, retry, timeout, bulkhead, deadline and dedup settings (validated; see @ecom/resilience's config). */
  config?: ResilienceConfigInput;
  logger: Logger;
  /** The process's metrics registry. */
  registry: Registry;
  /**
   * The request-signing stage of a subgraph (gateway/src/fetch/sign.ts), placed between resilience and transport.
   * @default no signing
   */
  signing?: (subgraph: string) => SubgraphFetchStage | undefined;
  /**
   * The instance-choosing stage of a subgraph (gateway/src/fetch/balancer.ts: load balancing, outlier ejection,
   * canary), inside the retries so that each attempt may go to another instance, outside signing.
   * @default the subgraph's one URL
   */
  routing?: (subgraph: string) => SubgraphFetchStage | undefined;
  /**
   * The innermost fetch; by default undici pools (see transport.ts). A test may put a fault injector here.
   * @default createUndiciTransport(transportOptions).fetch
   */
  transport?: SubgraphFetch;
  /** Options of the default transport. */
  transportOptions?: UndiciTransportOptions;
}

/** See the module comment. */
export class SubgraphCallPath {
  /** One policy per subgraph name. `policies.update(config)` changes every setting live. */
  readonly policies: PolicyRegistry;
  private readonly fetches = new Map<string, SubgraphFetch>();
  private readonly undici: UndiciTransport | undefined;
  private readonly transport: SubgraphFetch;
  private readonly telemetry;

  constructor(private readonly options: CallPathOptions) {
    this.telemetry = createCallPathTelemetry(options.registry, options.logger);
    this.policies = new PolicyRegistry(options.config ?? {}, { onEvent: (name, event) => this.telemetry.onEvent(name, event) });
    this.telemetry.observe(this.policies);
    if (options.transport) this.transport = options.transport;
    else {
      this.undici = createUndiciTransport(options.transportOptions);
      this.transport = this.undici.fetch;
    }
  }

  /** The longest a client request may spend on subgraph calls (`deadlineMs`), read live. */
  get deadlineMs(): number {
    return this.policies.settings.deadlineMs;
  }

  /** The call path of `subgraph` (built on first use, then the same one: it holds the subgraph's in-flight dedup). */
  fetchFor(subgraph: string): SubgraphFetch {
    let fetch = this.fetches.get(subgraph);
    if (!fetch) {
      const policy = this.policies.get(subgraph);
      const signing = this.options.signing?.(subgraph);
      const routing = this.options.routing?.(subgraph);
      fetch = composeStages(
        [
          dedupStage({ enabled: () => this.policies.settings.dedup.enabled, onJoin: () => this.telemetry.onDedupJoin(subgraph) }),
          resilienceStage({ policy, defaultDeadlineMs: () => this.deadlineMs }),
          ...(routing ? [routing] : []),
          ...(signing ? [signing] : []),
        ],
        this.transport,
      );
      this.fetches.set(subgraph, fetch);
    }
    return fetch;
  }

  /** The breaker state of `subgraph`. */
  breakerState(subgraph: string): BreakerStateName {
    return this.policies.get(subgraph).state;
  }

  /** Connection pools by origin (undefined with an injected transport). */
  transportStats(): ReturnType<UndiciTransport["stats"]> | undefined {
    return this.undici?.stats();
  }

  /** Closes the connection pools. */
  async close(): Promise<void> {
    await this.undici?.close();
  }
}
