/**
 * A subgraph instance's entry in the service registry (registry mode of service discovery, packages/discovery):
 * registered once it listens, deregistered first thing when it stops, so the gateway takes it out of rotation
 * before it stops serving.
 */
import { hostname } from "node:os";
import { registerInstance, type Registration } from "@ecom/discovery";
import type { Logger } from "@ecom/observability";
import { print, type DocumentNode } from "graphql";
import { Redis } from "ioredis";

/** Where and how an instance registers (from the environment: see `discoveryEnv` of @ecom/config). */
export interface SelfRegistrationOptions {
  redisUrl: string;
  /** Key prefix of the control plane, e.g. `ecom:`. */
  prefix: string;
  /** Record lifetime without a heartbeat. @default 10000 */
  ttlMs?: number;
  /** The URL other processes reach this instance at. @default derived from the listening host and port */
  advertiseUrl?: string | undefined;
  /** The release (`version` tag, for canary routing). @default "stable" */
  version?: string;
  /** @default "dev" */
  buildVersion?: string;
  /** @default {} */
  tags?: Record<string, string>;
  /** A deployment: a wildcard listening address is advertised as the host name rather than 127.0.0.1. @default false */
  production?: boolean;
}

/** The URL of `/graphql` on `host:port` as another process on the network reaches it. */
export function advertisedUrl(host: string, port: number, production: boolean): string {
  // A wildcard address is not reachable as such: locally the loopback address is, in a deployment the host name.
  const wildcard = host === "0.0.0.0" || host === "::" || host === "";
  const shown = wildcard ? (production ? hostname() : "127.0.0.1") : host.includes(":") ? `[${host}]` : host;
  return `http://${shown}:${port}/graphql`;
}

/** Registers the instance; resolves with a stop function (deregisters, then closes the Redis connection). */
export async function registerSelf(
  service: string,
  typeDefs: DocumentNode,
  options: SelfRegistrationOptions,
  where: { host: string; port: number },
  logger: Logger,
): Promise<() => Promise<void>> {
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 2, connectTimeout: 2000 });
  redis.on("error", () => {
    // The heartbeat reports failures (once per outage); ioredis reconnects by itself.
  });
  let registration: Registration;
  try {
    registration = await registerInstance({
      redis,
      prefix: options.prefix,
      service,
      url: options.advertiseUrl ?? advertisedUrl(where.host, where.port, options.production ?? false),
      sdl: print(typeDefs),
      ...(options.ttlMs === undefined ? {} : { ttlMs: options.ttlMs }),
      ...(options.version === undefined ? {} : { version: options.version }),
      ...(options.buildVersion === undefined ? {} : { buildVersion: options.buildVersion }),
      ...(options.tags === undefined ? {} : { tags: options.tags }),
      logger,
    });
  } catch (error) {
    redis.disconnect();
    throw new Error(
      `Cannot register ${service} in the service registry at ${options.redisUrl} (${(error as Error).message}): start Redis or set DISCOVERY_MODE=static.`,
      { cause: error },
    );
  }
  return async () => {
    await registration.stop();
    redis.disconnect();
  };
}
