import { readFileSync } from "node:fs";
import type { Keyring, NonceStore } from "@ecom/auth";
import type { Logger, Metrics } from "@ecom/observability";
import { parse, type DocumentNode } from "graphql";
import type { SelfRegistrationOptions } from "./self-registration.ts";
import { selfProtectionFromEnv, type SelfProtectionEnv } from "./self-protection.ts";
import { shutdownTimings } from "./shutdown.ts";

/**
 * What every database-backed subgraph's `createServer(deps)` receives; `TEnv` adds the subgraph's own settings.
 * The boot file builds it from the environment, tests from a fresh database.
 */
export interface SubgraphDeps<TDb extends { check(): Promise<unknown> }, TEnv extends object = object> {
  env: SigningEnvFields & { NODE_ENV: string; SHUTDOWN_DELAY?: number; DRAIN_TIMEOUT?: number } & TEnv;
  logger: Logger;
  metrics: Metrics;
  db: TDb;
}

/** The signing variables of a subgraph's env (`subgraphSigningEnv` of @ecom/config), and where nonces go. */
export interface SigningEnvFields {
  SIGNING_KEYS: Keyring;
  SIGNING_WINDOW?: number;
  SIGNING_REPLAY_CHECK?: "mutations" | "all";
  REDIS_URL?: string;
  CONTROL_PLANE_PREFIX?: string;
  /** Tests: a nonce store instead of Redis at REDIS_URL. */
  NONCE_STORE?: NonceStore;
}

/** The `signing` option of createSubgraphServer from a subgraph's env. */
export function signingFromEnv(env: SigningEnvFields) {
  return {
    keys: env.SIGNING_KEYS,
    ...(env.SIGNING_WINDOW === undefined ? {} : { windowMs: env.SIGNING_WINDOW }),
    ...(env.SIGNING_REPLAY_CHECK === undefined ? {} : { replayCheck: env.SIGNING_REPLAY_CHECK }),
    nonces: env.NONCE_STORE ?? {
      redisUrl: env.REDIS_URL ?? "redis://127.0.0.1:6379/0",
      prefix: `${env.CONTROL_PLANE_PREFIX ?? "ecom:"}nonce:`,
    },
  };
}

/** Reads and parses a subgraph's SDL file, e.g. `loadTypeDefs(new URL("./schema.graphql", import.meta.url))`. */
export function loadTypeDefs(file: URL): DocumentNode {
  return parse(readFileSync(file, "utf8"));
}

/**
 * The options of `createSubgraphServer` that every database-backed subgraph sets the same way: its name, logger
 * and metrics, a Postgres readiness check, request signing (SIGNING_*), development mode from NODE_ENV, and the graceful
 * shutdown timings from SHUTDOWN_DELAY and DRAIN_TIMEOUT.
 */
export function commonSubgraphOptions(name: string, deps: SubgraphDeps<{ check(): Promise<unknown> }>) {
  const registration = registrationFromEnv(deps.env);
  const { shutdownDelayMs, drainTimeoutMs } = shutdownTimings(deps.env);
  return {
    // Registered: at least 500 ms of serving after the deregistration, so that calls the gateways routed here just
    // before they heard of it still find the listener open.
    shutdownDelayMs: registration ? Math.max(shutdownDelayMs, MIN_REGISTERED_SHUTDOWN_DELAY_MS) : shutdownDelayMs,
    drainTimeoutMs,
    name,
    logger: deps.logger,
    metrics: deps.metrics,
    checks: [{ name: "postgres", check: () => deps.db.check() }],
    signing: signingFromEnv(deps.env),
    development: deps.env.NODE_ENV === "development",
    // QUERY_MAX_*, RESULT_*, DATALOADER_MAX_BATCH, HTTP_*: the subgraph protects itself (self-protection.ts).
    protection: selfProtectionFromEnv(deps.env as SelfProtectionEnv),
    ...(registration ? { registration } : {}),
  };
}

/** The discovery variables of a subgraph's env (`discoveryEnv` and `controlPlaneEnv` of @ecom/config). */
interface DiscoveryEnvFields {
  NODE_ENV: string;
  DISCOVERY_MODE?: "static" | "registry";
  REDIS_URL?: string;
  CONTROL_PLANE_PREFIX?: string;
  DISCOVERY_TTL?: number;
  ADVERTISE_URL?: string | undefined;
  SERVICE_VERSION?: string;
  BUILD_VERSION?: string;
  SERVICE_TAGS?: Record<string, string>;
}

/** The shortest shutdown delay of a registered instance (see {@link commonSubgraphOptions}). */
export const MIN_REGISTERED_SHUTDOWN_DELAY_MS = 500;

/** Self-registration settings in registry mode (undefined in static mode, and for envs without the variables). */
export function registrationFromEnv(env: object): SelfRegistrationOptions | undefined {
  const e = env as DiscoveryEnvFields;
  if (e.DISCOVERY_MODE !== "registry" || !e.REDIS_URL) return undefined;
  return {
    redisUrl: e.REDIS_URL,
    prefix: e.CONTROL_PLANE_PREFIX ?? "ecom:",
    ...(e.DISCOVERY_TTL === undefined ? {} : { ttlMs: e.DISCOVERY_TTL }),
    advertiseUrl: e.ADVERTISE_URL,
    ...(e.SERVICE_VERSION === undefined ? {} : { version: e.SERVICE_VERSION }),
    ...(e.BUILD_VERSION === undefined ? {} : { buildVersion: e.BUILD_VERSION }),
    ...(e.SERVICE_TAGS === undefined ? {} : { tags: e.SERVICE_TAGS }),
    production: e.NODE_ENV === "production",
  };
}
