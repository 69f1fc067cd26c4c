/**
 * Dynamic configuration: a versioned document in Redis ({@link createLiveConfigStore}), applied live in every
 * subscribed process ({@link subscribeLiveConfig}), changed with `npm run config` ({@link runConfigCli}); the
 * platform's document is {@link platformConfigSchema}.
 */
export {
  createLiveConfigStore,
  subscribeLiveConfig,
  liveConfigKeys,
  describeIssues,
  LiveConfigValidationError,
  LiveConfigConflictError,
  isLiveConfigValidationError,
} from "./store.ts";
export type {
  ChangeMeta,
  ConfigVersion,
  LiveConfigStore,
  LiveConfigStoreOptions,
  LiveConfigSubscription,
  LiveConfigSubscriptionOptions,
} from "./store.ts";
export { diffDocs, getPath, setPath, parsePath, PathError } from "./paths.ts";
export type { Change, JsonObject, JsonValue } from "./paths.ts";
export { platformConfigSchema, flagsSchema, liveResilienceSchema, liveRateLimitSchema } from "./platform.ts";
export type { PlatformConfig, LiveResilience, LiveRateLimit } from "./platform.ts";
export { runConfigCli } from "./cli.ts";
export type { ConfigCliOptions } from "./cli.ts";
