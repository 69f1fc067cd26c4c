/**
 * Self-registration of one subgraph instance: its record under a key with a TTL, renewed by a heartbeat; its SDL
 * under its schema version; an announcement on the registry channel. A graceful stop deletes the record and
 * announces it, so watchers drop the instance at once; a crashed instance stops renewing and its key expires.
 *
 * A heartbeat that finds its key gone (it expired while Redis or this process was stalled, or Redis restarted
 * empty) registers again and announces it, so the registry heals by itself.
 */
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { Logger } from "@ecom/observability";
import type { Redis } from "ioredis";
import {
  DEFAULT_VERSION,
  VERSION_TAG,
  memberOf,
  registryKeys,
  schemaVersionOf,
  versionOf,
  type InstanceRecord,
  type RegistryEvent,
} from "./records.ts";

/** Options of {@link registerInstance}. */
export interface RegistrationOptions {
  /** A connected (or auto-connecting) ioredis client; not closed by {@link Registration.stop}. */
  redis: Redis;
  /** Key prefix, e.g. `ecom:`. */
  prefix: string;
  /** Subgraph name. */
  service: string;
  /** Its `/graphql` URL as other processes reach it. */
  url: string;
  /** The subgraph SDL this instance serves (stored under its schema version for recomposition). */
  sdl: string;
  /**
   * The build it runs.
   * @default "dev"
   */
  buildVersion?: string;
  /**
   * The release, for canary routing (stored as the `version` tag).
   * @default "stable"
   */
  version?: string;
  /** Other labels (zone, host...). @default {} */
  tags?: Record<string, string>;
  /**
   * Lifetime of the record without a heartbeat: how long a crashed instance stays listed.
   * @default 10000
   */
  ttlMs?: number;
  /**
   * Time between heartbeats; well below `ttlMs` so that one lost heartbeat does not drop the instance.
   * @default ttlMs / 3
   */
  heartbeatMs?: number;
  /** @default a unique id from host name, pid and randomness */
  id?: string;
  logger: Logger;
}

/** A registered instance. */
export interface Registration {
  readonly record: InstanceRecord;
  /** Renews the record now (the heartbeat does this on its own). */
  heartbeat(): Promise<void>;
  /** Stops the heartbeat, deletes the record and announces it. Idempotent; never throws (a failure is logged). */
  stop(): Promise<void>;
}

/** Registers the instance and starts its heartbeat. Resolves once the record is written. */
export async function registerInstance(options: RegistrationOptions): Promise<Registration> {
  const ttlMs = options.ttlMs ?? 10_000;
  const heartbeatMs = options.heartbeatMs ?? Math.max(100, Math.floor(ttlMs / 3));
  const keys = registryKeys(options.prefix);
  const { redis, service } = options;
  const record: InstanceRecord = {
    service,
    id: options.id ?? `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`,
    url: options.url,
    schemaVersion: schemaVersionOf(options.sdl),
    buildVersion: options.buildVersion ?? "dev",
    tags: { ...options.tags, [VERSION_TAG]: options.version ?? options.tags?.[VERSION_TAG] ?? DEFAULT_VERSION },
    startedAt: new Date().toISOString(),
  };
  const key = keys.instance(service, record.id);
  const schemaKey = keys.schema(service, record.schemaVersion);
  const value = JSON.stringify(record);
  const logger = options.logger.child({ component: "discovery", instanceId: record.id });
  const announce = (type: RegistryEvent["type"]) => JSON.stringify({ type, service, id: record.id } satisfies RegistryEvent);
  let stopped = false;
  let failing = false;

  async function register(): Promise<void> {
    // The schema outlives the instance by a TTL of its own, so a watcher resolving the SDL right after a crash
    // still finds it; renewed by every heartbeat.
    await redis
      .multi()
      .set(schemaKey, options.sdl, "PX", ttlMs * 6)
      .set(key, value, "PX", ttlMs)
      .sadd(keys.index, memberOf(service, record.id))
      .publish(keys.channel, announce("register"))
      .exec();
  }

  async function heartbeat(): Promise<void> {
    if (stopped) return;
    const results = await redis
      .multi()
      .set(key, value, "PX", ttlMs, "XX")
      .pexpire(schemaKey, ttlMs * 6)
      .exec();
    const renewed = results?.[0]?.[1] === "OK";
    if (!renewed && !stopped) {
      logger.warn({ service }, "registry record was gone (expired or Redis restarted): registering again");
      await register();
    }
  }

  await register();
  logger.info(
    { service, url: record.url, schemaVersion: record.schemaVersion, version: versionOf(record) },
    "registered in the service registry",
  );

  const timer = setInterval(() => {
    heartbeat().then(
      () => {
        if (failing) logger.info("registry heartbeat works again");
        failing = false;
      },
      (error: unknown) => {
        // Once per outage: the record lives on until its TTL, watchers keep their last known list.
        if (!failing) logger.warn({ err: error }, "registry heartbeat failed; retrying");
        failing = true;
      },
    );
  }, heartbeatMs);
  timer.unref();

  let stopping: Promise<void> | undefined;
  return {
    record,
    heartbeat,
    stop() {
      stopping ??= (async () => {
        stopped = true;
        clearInterval(timer);
        try {
          await redis.multi().del(key).srem(keys.index, memberOf(service, record.id)).publish(keys.channel, announce("deregister")).exec();
          logger.info({ service }, "deregistered from the service registry");
        } catch (error) {
          logger.warn({ err: error }, "could not deregister; the record expires with its TTL");
        }
      })();
      return stopping;
    },
  };
}
