/**
 * The policies of every dependency, one per name, created on first use and kept for the life of the process.
 * In the gateway, the registry lives outside ApolloGateway, so a supergraph reload (which builds new data
 * sources) finds the same breakers, budgets and bulkheads, open or not.
 */
import { parseConfig, policyConfigFor, resilienceConfigSchema, type ResilienceConfig } from "./config.ts";
import { Policy, type PolicyEvent } from "./policy.ts";

/** Options of {@link PolicyRegistry}. */
export interface PolicyRegistryOptions {
  /** Every event of every policy, with the policy's name. */
  onEvent?: (name: string, event: PolicyEvent) => void;
  /** Clock in ms. @default Date.now */
  now?: () => number;
  /** Random source of the jitter, in [0, 1). @default Math.random */
  random?: () => number;
}

/** See the module comment. */
export class PolicyRegistry {
  private config: ResilienceConfig;
  private readonly policies = new Map<string, Policy>();

  /** `config` is validated ({@link ResilienceConfigError} lists every problem); absent fields take the defaults. */
  constructor(
    config: unknown = {},
    private readonly options: PolicyRegistryOptions = {},
  ) {
    this.config = parseConfig(resilienceConfigSchema, config);
  }

  /** The current settings. */
  get settings(): Readonly<ResilienceConfig> {
    return this.config;
  }

  /** The policy of `name` (created with the defaults and its overrides on first use). */
  get(name: string): Policy {
    let policy = this.policies.get(name);
    if (!policy) {
      const onEvent = this.options.onEvent;
      policy = new Policy(name, policyConfigFor(this.config, name), {
        ...(onEvent ? { onEvent: (event: PolicyEvent) => onEvent(name, event) } : {}),
        ...(this.options.now ? { now: this.options.now } : {}),
        ...(this.options.random ? { random: this.options.random } : {}),
      });
      this.policies.set(name, policy);
    }
    return policy;
  }

  /** Every policy created so far. */
  entries(): IterableIterator<[string, Policy]> {
    return this.policies.entries();
  }

  /**
   * Replaces the whole configuration, live: validated first (invalid settings throw and change nothing), then
   * applied to every existing policy; breaker states, counts and queues are kept.
   */
  update(config: unknown): void {
    const next = parseConfig(resilienceConfigSchema, config);
    const configs = [...this.policies].map(([name, policy]) => [policy, policyConfigFor(next, name)] as const);
    this.config = next;
    for (const [policy, policyConfig] of configs) policy.update(policyConfig);
  }
}
