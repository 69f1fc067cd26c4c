/**
 * The gateway's side of the control plane, chosen by configuration:
 *
 * - `DISCOVERY_MODE=registry`: a registry watcher keeps the live instances of every subgraph; calls are balanced
 *   across them ({@link InstanceRouting}); a new registered schema version is recomposed in ({@link createRegistryRecomposer}).
 *   `static` (DNS): the configured URLs are called as they are and the platform balances.
 * - `LIVE_CONFIG=true`: the live configuration (packages/live-config) is applied to the resilience policies, the
 *   balancer, the canary routes, the feature flags and the rate-limit rules within a second of a change, in every
 *   gateway instance.
 */
import { createRegistryWatcher, type RegistryWatcher } from "@ecom/discovery";
import {
  getPath,
  platformConfigSchema,
  subscribeLiveConfig,
  type LiveConfigSubscription,
  type LiveResilience,
  type PlatformConfig,
} from "@ecom/live-config";
import type { Logger, Metrics, ReadinessCheck } from "@ecom/observability";
import { DEFAULT_RATE_LIMIT_RULES, type RateLimiter, type RateLimitRuleInput, type RedisDownPolicy } from "@ecom/ratelimit";
import type { PolicyOverrides, ResilienceConfigInput } from "@ecom/resilience";
import { Redis } from "ioredis";
import { InstanceRouting } from "./fetch/balancer.ts";
import { createRegistryRecomposer, type RegistryRecomposer } from "./recompose.ts";
import type { GatewayServer } from "./server.ts";

/** Options of {@link createControlPlane}. */
export interface ControlPlaneOptions {
  mode: "static" | "registry";
  liveConfig: boolean;
  redisUrl: string;
  /** Key prefix of the registry and the live configuration. */
  prefix: string;
  /** The resilience settings from the environment, which live overrides are merged over. */
  baseResilience: ResilienceConfigInput;
  /**
   * The gateway's rate limiter and its settings from the environment: `rateLimit.rules` / `rateLimit.onRedisDown`
   * of the live configuration replace them while set.
   */
  rateLimit?: { limiter: RateLimiter; rules?: readonly RateLimitRuleInput[] | undefined; onRedisDown: RedisDownPolicy } | undefined;
  /** @default 2000 */
  resyncIntervalMs?: number;
  logger: Logger;
  metrics: Metrics;
}

/** See the module comment. */
export interface ControlPlane {
  /** Instance choice of the call path (registry mode only). */
  readonly routing: InstanceRouting | undefined;
  /** Readiness details: the registry's state (non-critical). */
  readonly checks: ReadinessCheck[];
  /** Feature flags in force. */
  flags(): Readonly<Record<string, boolean>>;
  /** The live configuration version in force (0: defaults). */
  configVersion(): number;
  /** Connects the server's policies and supergraph; resolves once the current configuration is applied. */
  start(server: GatewayServer): Promise<void>;
  close(): Promise<void>;
}

function mergePolicy(base: PolicyOverrides | undefined, live: PolicyOverrides | undefined): PolicyOverrides {
  return {
    breaker: { ...base?.breaker, ...live?.breaker },
    retry: { ...base?.retry, ...live?.retry },
    timeout: { ...base?.timeout, ...live?.timeout },
    bulkhead: { ...base?.bulkhead, ...live?.bulkhead },
  };
}

/** The env's resilience settings with the live overrides merged over them (validated by `policies.update`). */
export function withLiveResilience(base: ResilienceConfigInput, live: LiveResilience): ResilienceConfigInput {
  const overrides: Record<string, PolicyOverrides> = {};
  for (const name of new Set([...Object.keys(base.overrides ?? {}), ...Object.keys(live.overrides ?? {})])) {
    overrides[name] = mergePolicy(base.overrides?.[name], live.overrides?.[name]);
  }
  return {
    ...base,
    ...(live.deadlineMs === undefined ? {} : { deadlineMs: live.deadlineMs }),
    ...(live.dedup === undefined ? {} : { dedup: live.dedup }),
    defaults: {
      ...base.defaults,
      ...mergePolicy(base.defaults as PolicyOverrides | undefined, live.defaults),
    } as ResilienceConfigInput["defaults"],
    overrides,
  };
}

/** See the module comment. */
export function createControlPlane(options: ControlPlaneOptions): ControlPlane {
  const logger = options.logger.child({ component: "control-plane" });
  const needsRedis = options.mode === "registry" || options.liveConfig;
  const redis = needsRedis
    ? new Redis(options.redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 2000, enableOfflineQueue: true })
    : undefined;
  redis?.on("error", () => {
    // The watcher and the subscription report outages (once each); ioredis reconnects by itself.
  });
  const routing =
    options.mode === "registry" ? new InstanceRouting({ logger: options.logger, registry: options.metrics.registry }) : undefined;
  let watcher: RegistryWatcher | undefined;
  let recomposer: RegistryRecomposer | undefined;
  let live: LiveConfigSubscription<typeof platformConfigSchema> | undefined;
  let flags: Readonly<Record<string, boolean>> = {};
  const checks: ReadinessCheck[] = [];
  if (redis && routing) {
    watcher = createRegistryWatcher({
      redis,
      prefix: options.prefix,
      logger: options.logger,
      metricsRegistry: options.metrics.registry,
      resyncIntervalMs: options.resyncIntervalMs ?? 2000,
    });
    checks.push(watcher.readinessCheck());
  }

  return {
    routing,
    checks,
    flags: () => flags,
    configVersion: () => live?.current().version ?? 0,
    async start(server) {
      if (redis && options.liveConfig) {
        live = subscribeLiveConfig({
          redis,
          prefix: options.prefix,
          schema: platformConfigSchema,
          logger: options.logger,
          metricsRegistry: options.metrics.registry,
          apply: (config: PlatformConfig, version) => {
            // Everything is checked before anything changes: a refused version leaves every setting as it was.
            const resilience = withLiveResilience(options.baseResilience, config.resilience);
            server.callPath.policies.update(resilience);
            routing?.update({ balancer: config.balancer, canary: config.canary });
            flags = config.flags;
            // Validated with the document; a key the document does not set leaves the env's setting in force.
            const rateLimit = options.rateLimit;
            rateLimit?.limiter.update({
              rules:
                getPath(version.doc, "rateLimit.rules") === undefined
                  ? (rateLimit.rules ?? DEFAULT_RATE_LIMIT_RULES)
                  : config.rateLimit.rules,
              onRedisDown:
                getPath(version.doc, "rateLimit.onRedisDown") === undefined ? rateLimit.onRedisDown : config.rateLimit.onRedisDown,
            });
          },
        });
        await live.start();
      }
      if (watcher && routing) {
        const rc = createRegistryRecomposer({ watcher, supergraph: server.supergraph, logger: options.logger, metrics: options.metrics });
        recomposer = rc;
        const refresh = (service: string) => routing.setInstances(service, rc.servable(service));
        watcher.onChange((services) => services.forEach(refresh));
        rc.onServableChange(refresh);
        await watcher.start();
        for (const service of watcher.services()) refresh(service);
        await rc.recompose();
      }
      logger.info(
        { mode: options.mode, liveConfig: options.liveConfig, configVersion: live?.current().version ?? 0 },
        "control plane connected",
      );
    },
    async close() {
      recomposer?.close();
      await watcher?.close();
      await live?.close();
      redis?.disconnect();
    },
  };
}
