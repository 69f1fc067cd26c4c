/**
 * The live instance list of every service, as one process (the gateway) sees the registry.
 *
 * It resyncs (reads the index and every record) when a registration or deregistration is announced on the
 * registry channel, when Redis reports an instance key expired (keyspace notifications, when the server has them
 * enabled: `notify-keyspace-events Ex`), and every `resyncIntervalMs` regardless: a message lost while the
 * subscriber reconnected, or an expiry without notifications, is healed by the next periodic resync.
 *
 * Registry down: the last known list stays in use (instances do not vanish because Redis did), the watcher says so
 * once in the logs, in `discovery_registry_up 0`, and in its readiness check's details (a non-critical check: a
 * gateway with a known list keeps serving).
 */
import type { Logger, ReadinessCheck } from "@ecom/observability";
import type { Redis } from "ioredis";
import { Counter, Gauge, type Registry } from "prom-client";
import { instanceRecordSchema, registryKeys, type InstanceRecord } from "./records.ts";

/** Options of {@link createRegistryWatcher}. */
export interface RegistryWatcherOptions {
  /** Commands go through it; a duplicate of it subscribes. Not closed by {@link RegistryWatcher.close}. */
  redis: Redis;
  /** Key prefix, e.g. `ecom:`. */
  prefix: string;
  /**
   * Periodic full resync: the longest a missed message (or an expiry without keyspace notifications) goes unseen.
   * @default 2000
   */
  resyncIntervalMs?: number;
  /**
   * Longest wait for one resync before Redis counts as down.
   * @default 1000
   */
  timeoutMs?: number;
  logger: Logger;
  /** The process's metrics registry. @default no metrics */
  metricsRegistry?: Registry;
}

/** How the registry looks from here. */
export interface RegistryStatus {
  /** The last resync succeeded. */
  up: boolean;
  /** Clock time of the last successful resync (undefined: none yet). */
  lastSyncAt: number | undefined;
  /** Why the last resync failed. */
  lastError: string | undefined;
  /** Instances known (the last known list while Redis is down). */
  instances: number;
}

/** See the module comment. */
export interface RegistryWatcher {
  /** Subscribes and runs the first resync; resolves also when Redis is down (see {@link RegistryWatcher.status}). */
  start(): Promise<void>;
  /** The live instances of `service`, sorted by id (empty when none). */
  instances(service: string): readonly InstanceRecord[];
  /** Every service with at least one instance. */
  services(): string[];
  /** The SDL registered under a schema version (undefined when unknown or Redis is down). */
  schema(service: string, schemaVersion: string): Promise<string | undefined>;
  status(): RegistryStatus;
  /** Called with the services whose instance list changed, after each resync that changed any. */
  onChange(listener: (services: readonly string[]) => void): () => void;
  /** Reads the registry now (coalesced with a resync already running). */
  resync(): Promise<void>;
  /** Readiness check that passes while the registry answers and fails, non-critically, with details otherwise. */
  readinessCheck(): ReadinessCheck;
  /** Unsubscribes and stops resyncing. */
  close(): Promise<void>;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** See the module comment. */
export function createRegistryWatcher(options: RegistryWatcherOptions): RegistryWatcher {
  const keys = registryKeys(options.prefix);
  const { redis } = options;
  const logger = options.logger.child({ component: "discovery" });
  const timeoutMs = options.timeoutMs ?? 1000;
  const byService = new Map<string, readonly InstanceRecord[]>();
  const fingerprints = new Map<string, string>();
  const listeners = new Set<(services: readonly string[]) => void>();
  let lastSyncAt: number | undefined;
  let lastError: string | undefined;
  let up = false;
  let everUp = false;
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let subscriber: Redis | undefined;

  const registry = options.metricsRegistry;
  const upGauge = registry
    ? new Gauge({
        name: "discovery_registry_up",
        help: "1 while the service registry answers, 0 while the last known list is served.",
        registers: [registry],
      })
    : undefined;
  const instancesGauge = registry
    ? new Gauge({
        name: "discovery_instances",
        help: "Registered instances per service, as last seen.",
        labelNames: ["service"],
        registers: [registry],
      })
    : undefined;
  const resyncs = registry
    ? new Counter({
        name: "discovery_resyncs_total",
        help: "Registry resyncs by outcome (ok, error).",
        labelNames: ["outcome"],
        registers: [registry],
      })
    : undefined;
  const events = registry
    ? new Counter({
        name: "discovery_registry_events_total",
        help: "Registry announcements received (register, deregister, expired).",
        labelNames: ["type"],
        registers: [registry],
      })
    : undefined;

  function apply(records: InstanceRecord[]): string[] {
    const next = new Map<string, InstanceRecord[]>();
    for (const record of records) {
      const list = next.get(record.service) ?? [];
      list.push(record);
      next.set(record.service, list);
    }
    const changed: string[] = [];
    for (const service of new Set([...byService.keys(), ...next.keys()])) {
      const list = (next.get(service) ?? []).sort((a, b) => a.id.localeCompare(b.id));
      const fingerprint = JSON.stringify(list);
      if (fingerprints.get(service) === fingerprint) continue;
      changed.push(service);
      if (list.length === 0) {
        byService.delete(service);
        fingerprints.delete(service);
      } else {
        byService.set(service, list);
        fingerprints.set(service, fingerprint);
      }
      instancesGauge?.set({ service }, list.length);
    }
    return changed;
  }

  async function readRegistry(): Promise<InstanceRecord[]> {
    const members = await redis.smembers(keys.index);
    if (members.length === 0) return [];
    const instanceKeys = members.map((m) => `${keys.instancePrefix}${m}`);
    const values = await redis.mget(...instanceKeys);
    const records: InstanceRecord[] = [];
    const gone: string[] = [];
    values.forEach((value, i) => {
      if (value === null) {
        gone.push(members[i]!);
        return;
      }
      try {
        const parsed = instanceRecordSchema.safeParse(JSON.parse(value));
        if (parsed.success) records.push(parsed.data);
        else
          logger.warn({ key: instanceKeys[i], problems: parsed.error.issues.map((x) => x.message) }, "skipping an invalid registry record");
      } catch {
        logger.warn({ key: instanceKeys[i] }, "skipping a registry record that is not JSON");
      }
    });
    // Expired instances leave their index entry behind; every watcher may tidy it (SREM is idempotent).
    if (gone.length > 0) await redis.srem(keys.index, ...gone);
    return records;
  }

  async function resyncOnce(): Promise<void> {
    try {
      const records = await withTimeout(readRegistry(), timeoutMs, "registry read");
      const changed = apply(records);
      lastSyncAt = Date.now();
      lastError = undefined;
      if (!up && everUp) logger.info({ instances: records.length }, "service registry reachable again");
      up = everUp = true;
      upGauge?.set(1);
      resyncs?.inc({ outcome: "ok" });
      if (changed.length > 0) {
        logger.info(
          { changed: Object.fromEntries(changed.map((s) => [s, (byService.get(s) ?? []).map((r) => r.url)])) },
          "service instances changed",
        );
        for (const listener of listeners) {
          try {
            listener(changed);
          } catch (error) {
            logger.error({ err: error }, "registry change listener failed");
          }
        }
      }
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
      resyncs?.inc({ outcome: "error" });
      upGauge?.set(0);
      if (up || !everUp) {
        logger.warn(
          { err: error, instances: [...byService.values()].reduce((n, l) => n + l.length, 0) },
          "service registry unreachable: serving the last known instance list",
        );
      }
      up = false;
      everUp ||= false;
    }
  }

  function resync(): Promise<void> {
    if (closed) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await resyncOnce();
      } while (again && !closed);
    })().finally(() => {
      running = undefined;
    });
    return running;
  }

  return {
    async start() {
      subscriber = redis.duplicate();
      subscriber.on("error", () => {
        // Reported through the resync that fails; ioredis reconnects by itself.
      });
      subscriber.on("message", (_channel: string, message: string) => {
        try {
          const event = JSON.parse(message) as { type?: string };
          events?.inc({ type: typeof event.type === "string" ? event.type : "unknown" });
        } catch {
          events?.inc({ type: "unknown" });
        }
        void resync();
      });
      subscriber.on("pmessage", (_pattern: string, _channel: string, key: string) => {
        if (!key.startsWith(keys.instancePrefix)) return;
        events?.inc({ type: "expired" });
        void resync();
      });
      // A reconnected subscriber may have missed messages: resync at once rather than at the next tick.
      subscriber.on("ready", () => void resync());
      await Promise.allSettled([
        withTimeout(subscriber.subscribe(keys.channel), timeoutMs, "registry subscribe"),
        withTimeout(subscriber.psubscribe("__keyevent@*__:expired"), timeoutMs, "registry psubscribe"),
      ]);
      await resync();
      timer = setInterval(() => void resync(), options.resyncIntervalMs ?? 2000);
      timer.unref();
    },
    instances: (service) => byService.get(service) ?? [],
    services: () => [...byService.keys()],
    async schema(service, schemaVersion) {
      try {
        return (await withTimeout(redis.get(keys.schema(service, schemaVersion)), timeoutMs, "schema read")) ?? undefined;
      } catch {
        return undefined;
      }
    },
    status: () => ({ up, lastSyncAt, lastError, instances: [...byService.values()].reduce((n, l) => n + l.length, 0) }),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    resync,
    readinessCheck: () => ({
      name: "registry",
      critical: false,
      check: async () => {
        if (up) return;
        const age = lastSyncAt === undefined ? "never reached" : `last reached ${Math.round((Date.now() - lastSyncAt) / 1000)} s ago`;
        throw new Error(`service registry unreachable (${lastError ?? "unknown error"}; ${age}): serving the last known instance list`);
      },
    }),
    async close() {
      closed = true;
      clearInterval(timer);
      await running;
      if (subscriber) {
        subscriber.disconnect();
        subscriber = undefined;
      }
    },
  };
}
