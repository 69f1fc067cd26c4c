/**
 * The versioned configuration document in Redis, and the subscription that applies it live.
 *
 * Every change is a new version (1, 2, 3...): the whole document as operators wrote it (only what differs from the
 * defaults), who changed it, why, and which keys changed. A change is validated with the schema before it is
 * written (an invalid one is refused with every problem named, and nothing is written), written atomically only
 * if nobody wrote in between (a Lua script compares the version), kept in the history, and announced on a pub/sub
 * channel. Each subscribed process validates it again before use (a document written by an older or newer
 * release, or by hand, must not break a running process), applies it, and logs and counts it with its version;
 * one that fails keeps the last good version running. A periodic resync heals a missed announcement.
 */
import type { Logger } from "@ecom/observability";
import type { Redis } from "ioredis";
import { Counter, Gauge, type Registry } from "prom-client";
import type { z } from "zod";
import { diffDocs, getPath, isObject, setPath, type JsonObject, type JsonValue } from "./paths.ts";

/** One version of the document. */
export interface ConfigVersion {
  version: number;
  /** The document as written: overrides of the defaults. */
  doc: JsonObject;
  /** ISO 8601 time of the change. */
  at: string;
  author: string;
  message: string;
  /** Leaf keys that differ from the previous version. */
  changed: string[];
}

/** Who makes a change, and why (recorded in the history). */
export interface ChangeMeta {
  author: string;
  message?: string;
}

/** A change refused by validation; nothing was written. */
export class LiveConfigValidationError extends Error {
  readonly brand = "LiveConfigValidationError" as const;
  constructor(
    /** One `path: message` per problem. */
    readonly problems: readonly string[],
    /** The version still in force. */
    readonly currentVersion: number,
  ) {
    super(`Refused: ${problems.join("; ")}. Nothing was changed (still version ${currentVersion}).`);
  }
}

/** Another writer changed the document between read and write. */
export class LiveConfigConflictError extends Error {
  readonly brand = "LiveConfigConflictError" as const;
}

/** True when `error` is a {@link LiveConfigValidationError}, also across module copies. */
export const isLiveConfigValidationError = (error: unknown): error is LiveConfigValidationError =>
  (error as { brand?: unknown } | null)?.brand === "LiveConfigValidationError";

/** Key names under `prefix`. */
export function liveConfigKeys(prefix: string) {
  return { current: `${prefix}config:current`, versions: `${prefix}config:versions`, channel: `${prefix}config:changes` };
}

/** `zod` issues as `path: message` lines. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const message =
      issue.code === "invalid_type" && /received undefined$/.test(issue.message) ? `is required (${issue.message})` : issue.message;
    return `${issue.path.length > 0 ? issue.path.join(".") : "(document)"}: ${message}`;
  });
}

// KEYS: current, versions. ARGV: expected version, new version JSON, new version number, channel.
// Written in Lua so that the compare and the write are one step: two operators changing the document at the same
// moment cannot both win and lose one of the changes.
const WRITE_SCRIPT = `
local current = redis.call('GET', KEYS[1])
local version = 0
if current then version = cjson.decode(current)['version'] end
if version ~= tonumber(ARGV[1]) then return -1 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[2])
redis.call('PUBLISH', ARGV[4], ARGV[3])
return tonumber(ARGV[3])
`;

/** Options of {@link createLiveConfigStore}. */
export interface LiveConfigStoreOptions<S extends z.ZodType> {
  redis: Redis;
  /** Key prefix, e.g. `ecom:`. */
  prefix: string;
  /** Validates a whole document; its defaults make the effective configuration. */
  schema: S;
}

/** Reads, validates and writes versions (the CLI uses it; processes use {@link subscribeLiveConfig}). */
export interface LiveConfigStore<S extends z.ZodType> {
  /** The version in force (version 0, an empty document, before the first change). */
  current(): Promise<ConfigVersion>;
  /** One version, undefined when it does not exist. */
  version(version: number): Promise<ConfigVersion | undefined>;
  /** Every version, newest first. */
  history(): Promise<ConfigVersion[]>;
  /** The effective configuration (defaults applied) of a document. */
  effective(doc: JsonObject): z.infer<S>;
  /**
   * Writes `value` at `path` as a new version.
   * @throws LiveConfigValidationError naming every problem (nothing written)
   */
  set(path: string, value: JsonValue, meta: ChangeMeta): Promise<ConfigVersion>;
  /** Removes `path` (back to its default) as a new version. */
  unset(path: string, meta: ChangeMeta): Promise<ConfigVersion>;
  /** Writes a whole document as a new version (validated). */
  replace(doc: JsonObject, meta: ChangeMeta): Promise<ConfigVersion>;
  /** Writes the document of `version` (default: the one before the current) as a new version. */
  rollback(version: number | undefined, meta: ChangeMeta): Promise<ConfigVersion>;
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

const EMPTY: ConfigVersion = { version: 0, doc: {}, at: new Date(0).toISOString(), author: "defaults", message: "", changed: [] };

function parseVersion(text: string | null | undefined): ConfigVersion | undefined {
  if (!text) return undefined;
  const value = JSON.parse(text) as ConfigVersion;
  return isObject(value) && typeof value.version === "number" && isObject(value.doc) ? value : undefined;
}

/** See {@link LiveConfigStore}. */
export function createLiveConfigStore<S extends z.ZodType>(options: LiveConfigStoreOptions<S>): LiveConfigStore<S> {
  const keys = liveConfigKeys(options.prefix);
  const { redis, schema } = options;

  async function current(): Promise<ConfigVersion> {
    return parseVersion(await redis.get(keys.current)) ?? EMPTY;
  }

  async function write(base: ConfigVersion, doc: JsonObject, meta: ChangeMeta): Promise<ConfigVersion> {
    const result = schema.safeParse(doc);
    if (!result.success) throw new LiveConfigValidationError(describeIssues(result.error), base.version);
    const next: ConfigVersion = {
      version: base.version + 1,
      doc,
      at: new Date().toISOString(),
      author: meta.author,
      message: meta.message ?? "",
      changed: diffDocs(base.doc, doc).map((c) => c.path),
    };
    const written = (await redis.eval(
      WRITE_SCRIPT,
      2,
      keys.current,
      keys.versions,
      base.version,
      JSON.stringify(next),
      next.version,
      keys.channel,
    )) as number;
    if (written === -1)
      throw new LiveConfigConflictError(
        `the configuration changed while this change was being made (it was version ${base.version}): run it again`,
      );
    return next;
  }

  const store: LiveConfigStore<S> = {
    current,
    async version(version) {
      if (version === 0) return EMPTY;
      return parseVersion(await redis.hget(keys.versions, String(version)));
    },
    async history() {
      const all = await redis.hvals(keys.versions);
      return all
        .map((text) => parseVersion(text))
        .filter((v): v is ConfigVersion => v !== undefined)
        .sort((a, b) => b.version - a.version);
    },
    effective: (doc) => schema.parse(doc) as z.infer<S>,
    async set(path, value, meta) {
      const base = await current();
      return write(base, setPath(base.doc, path, value), meta);
    },
    async unset(path, meta) {
      const base = await current();
      if (getPath(base.doc, path) === undefined)
        throw new LiveConfigValidationError([`${path}: is not set (it has its default)`], base.version);
      return write(base, setPath(base.doc, path, undefined), meta);
    },
    async replace(doc, meta) {
      return write(await current(), doc, meta);
    },
    async rollback(version, meta) {
      const base = await current();
      const targetVersion = version ?? base.version - 1;
      if (targetVersion < 0 || targetVersion >= base.version)
        throw new LiveConfigValidationError(
          [`version ${targetVersion}: roll back to an earlier version (1 to ${base.version - 1}, or 0 for the defaults)`],
          base.version,
        );
      const target = await store.version(targetVersion);
      if (!target) throw new LiveConfigValidationError([`version ${targetVersion}: no such version in the history`], base.version);
      return write(base, target.doc, { author: meta.author, message: meta.message ?? `rollback to version ${targetVersion}` });
    },
  };
  return store;
}

/** Options of {@link subscribeLiveConfig}. */
export interface LiveConfigSubscriptionOptions<S extends z.ZodType> {
  /** Commands go through it; a duplicate of it subscribes. */
  redis: Redis;
  prefix: string;
  schema: S;
  /**
   * Puts a validated configuration into effect. Throwing refuses it: the last good version stays in force (so
   * apply must validate everything before changing anything, as every policy's `update()` does).
   */
  apply: (config: z.infer<S>, version: ConfigVersion) => void | Promise<void>;
  logger: Logger;
  /** The process's metrics registry. @default no metrics */
  metricsRegistry?: Registry;
  /**
   * Periodic resync, for announcements missed while the subscriber reconnected.
   * @default 5000
   */
  resyncIntervalMs?: number;
}

/** A running subscription. */
export interface LiveConfigSubscription<S extends z.ZodType> {
  /** Applies the current version (defaults when Redis is down) and subscribes. */
  start(): Promise<void>;
  /** The version in force here and its effective configuration. */
  current(): { version: number; config: z.infer<S> };
  /** Reads and applies the latest version now. */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

/** Subscribes a process to the live configuration (see the module comment). */
export function subscribeLiveConfig<S extends z.ZodType>(options: LiveConfigSubscriptionOptions<S>): LiveConfigSubscription<S> {
  const keys = liveConfigKeys(options.prefix);
  const logger = options.logger.child({ component: "live-config" });
  const registry = options.metricsRegistry;
  const changes = registry
    ? new Counter({
        name: "live_config_changes_total",
        help: "Live configuration versions seen by outcome (applied, rejected).",
        labelNames: ["outcome"],
        registers: [registry],
      })
    : undefined;
  const versionGauge = registry
    ? new Gauge({ name: "live_config_version", help: "The live configuration version in force in this process.", registers: [registry] })
    : undefined;
  let applied = { version: 0, config: options.schema.parse({}) as z.infer<S> };
  let rejectedVersion = -1;
  let subscriber: Redis | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;

  async function applyLatest(): Promise<void> {
    const latest = parseVersion(await withTimeout(options.redis.get(keys.current), 1000, "reading the live configuration"));
    if (!latest || latest.version <= applied.version || latest.version === rejectedVersion) return;
    const parsed = options.schema.safeParse(latest.doc);
    try {
      if (!parsed.success) throw new LiveConfigValidationError(describeIssues(parsed.error), applied.version);
      await options.apply(parsed.data as z.infer<S>, latest);
    } catch (error) {
      rejectedVersion = latest.version;
      changes?.inc({ outcome: "rejected" });
      logger.error(
        { err: error, version: latest.version, inForce: applied.version },
        "live configuration refused: the last good version stays in force",
      );
      return;
    }
    applied = { version: latest.version, config: parsed.data as z.infer<S> };
    changes?.inc({ outcome: "applied" });
    versionGauge?.set(latest.version);
    logger.info(
      { version: latest.version, changed: latest.changed, author: latest.author, message: latest.message },
      "live configuration applied",
    );
  }

  function refresh(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await applyLatest();
        } catch (error) {
          logger.warn({ err: error, inForce: applied.version }, "cannot read the live configuration; keeping the version in force");
        }
      } while (again);
    })().finally(() => (running = undefined));
    return running;
  }

  return {
    async start() {
      await options.apply(applied.config, { ...EMPTY });
      subscriber = options.redis.duplicate();
      subscriber.on("error", () => {});
      subscriber.on("message", () => void refresh());
      subscriber.on("ready", () => void refresh());
      // Redis down at boot: the process starts on the defaults, the subscription completes when Redis is back.
      await withTimeout(subscriber.subscribe(keys.channel), 1000, "subscribing").catch((error: unknown) =>
        logger.warn({ err: error }, "cannot subscribe to live configuration changes yet"),
      );
      await refresh();
      timer = setInterval(() => void refresh(), options.resyncIntervalMs ?? 5000);
      timer.unref();
    },
    current: () => applied,
    refresh,
    async close() {
      clearInterval(timer);
      await running;
      subscriber?.disconnect();
    },
  };
}
