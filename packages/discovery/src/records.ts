/**
 * What the registry holds and where: one key per instance (its record, with a TTL the heartbeat renews), an index
 * set naming every instance key, one key per schema version (the subgraph SDL it serves), and one pub/sub channel
 * that announces registrations and deregistrations. Every key starts with the caller's prefix, so test runs and
 * environments sharing a Redis never see each other.
 */
import { createHash } from "node:crypto";
import { z } from "zod";

/** The tag that names an instance's release for canary routing (see {@link versionOf}). */
export const VERSION_TAG = "version";

/** The version of an instance that carries no {@link VERSION_TAG}. */
export const DEFAULT_VERSION = "stable";

/** One registered instance, as stored (JSON) under its key. Validated when read: a corrupt entry is skipped. */
export const instanceRecordSchema = z.object({
  /** Subgraph name, e.g. `products`. */
  service: z.string().min(1).max(100),
  /** Unique per process: host, pid and randomness. */
  id: z.string().min(1).max(200),
  /** Its `/graphql` URL as the gateway reaches it. */
  url: z.url({ protocol: /^https?$/ }),
  /** Hash of the subgraph SDL it serves (see {@link schemaVersionOf}); the SDL is under {@link RegistryKeys.schema}. */
  schemaVersion: z.string().min(1).max(100),
  /** The build it runs (a git sha or image tag). */
  buildVersion: z.string().max(200),
  /** Free-form labels; `version` is the release used by canary routing. */
  tags: z.record(z.string(), z.string()),
  /** When the process started (ISO 8601). */
  startedAt: z.string(),
});

/** See {@link instanceRecordSchema}. */
export type InstanceRecord = z.infer<typeof instanceRecordSchema>;

/** The release of an instance (its `version` tag), `stable` when untagged. */
export function versionOf(instance: Pick<InstanceRecord, "tags">): string {
  return instance.tags[VERSION_TAG] ?? DEFAULT_VERSION;
}

/** The schema version of an SDL: the first 16 hex digits of its sha256 (whitespace at the ends ignored). */
export function schemaVersionOf(sdl: string): string {
  return createHash("sha256").update(sdl.trim()).digest("hex").slice(0, 16);
}

/** Announced on {@link RegistryKeys.channel}. */
export interface RegistryEvent {
  type: "register" | "deregister";
  service: string;
  id: string;
}

/** The Redis key names of a registry under `prefix` (e.g. `ecom:`). */
export interface RegistryKeys {
  instance(service: string, id: string): string;
  /** Set of `<service>/<id>` members: what a resync reads. */
  readonly index: string;
  schema(service: string, schemaVersion: string): string;
  /** Pub/sub channel of {@link RegistryEvent}s. */
  readonly channel: string;
  /** Prefix of every instance key (keyspace notifications of an expiry are matched against it). */
  readonly instancePrefix: string;
}

/** The key names of the registry under `prefix`. */
export function registryKeys(prefix: string): RegistryKeys {
  const base = `${prefix}discovery:`;
  return {
    instance: (service, id) => `${base}instance:${service}/${id}`,
    index: `${base}index`,
    schema: (service, schemaVersion) => `${base}schema:${service}/${schemaVersion}`,
    channel: `${base}events`,
    instancePrefix: `${base}instance:`,
  };
}

/** `<service>/<id>`, the member of the index set. */
export const memberOf = (service: string, id: string): string => `${service}/${id}`;
