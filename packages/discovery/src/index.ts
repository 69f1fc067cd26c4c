/**
 * Service discovery for the platform: subgraph instances register themselves in Redis ({@link registerInstance}),
 * the gateway watches the registry ({@link createRegistryWatcher}) and picks an instance per call
 * ({@link InstanceBalancer}: round robin or least-in-flight, outlier ejection, sticky canary split).
 */
export { DEFAULT_VERSION, VERSION_TAG, instanceRecordSchema, registryKeys, schemaVersionOf, versionOf, memberOf } from "./records.ts";
export type { InstanceRecord, RegistryEvent, RegistryKeys } from "./records.ts";
export { registerInstance } from "./registration.ts";
export type { Registration, RegistrationOptions } from "./registration.ts";
export { createRegistryWatcher } from "./watcher.ts";
export type { RegistryStatus, RegistryWatcher, RegistryWatcherOptions } from "./watcher.ts";
export { InstanceBalancer, balancerConfigSchema, canaryBucket, canaryRouteSchema, outlierDetectionSchema } from "./balancer.ts";
export type {
  BalancerConfig,
  BalancerConfigInput,
  BalancerEndpoint,
  CanaryRoute,
  ChooseRequest,
  Choice,
  EndpointStats,
  InstanceBalancerOptions,
} from "./balancer.ts";
