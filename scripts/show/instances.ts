/**
 * The service registry as the gateway sees it, and a short-lived extra instance of a subgraph started by a show
 * (`npm start` has no control interface; an instance started beside it registers in the same registry, exactly as
 * `npm start -- --scale` or a new pod would, and is stopped gracefully at the end of the show).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { databaseUrlFor, type SubgraphName } from "@ecom/config";
import { parsePgUrl } from "@ecom/db";
import { instanceRecordSchema, registryKeys, versionOf, type InstanceRecord } from "@ecom/discovery";
import type { Redis } from "ioredis";
import { ShowFailure, connectRedis, type Show } from "./lib.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const TSX = createRequire(import.meta.url).resolve("tsx/cli");

/** Reads the registry of the platform (`CONTROL_PLANE_PREFIX` on `REDIS_URL`). */
export class RegistryView {
  private constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  static async open(show: Show): Promise<RegistryView> {
    const redis = await connectRedis(show);
    const view = new RegistryView(redis, show.env.controlPlanePrefix);
    show.defer(() => view.redis.disconnect());
    return view;
  }

  /** The live instances of `service` (records whose key has not expired), oldest first. */
  async instances(service: string): Promise<InstanceRecord[]> {
    const keys = registryKeys(this.prefix);
    const members = (await this.redis.smembers(keys.index)).filter((m) => m.startsWith(`${service}/`));
    if (members.length === 0) return [];
    const values = await this.redis.mget(members.map((m) => keys.instance(service, m.slice(service.length + 1))));
    const records: InstanceRecord[] = [];
    for (const value of values) {
      if (!value) continue;
      const parsed = instanceRecordSchema.safeParse(JSON.parse(value));
      if (parsed.success) records.push(parsed.data);
    }
    return records.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.url.localeCompare(b.url));
  }
}

/** `:4002 stable`: an instance as one short word. */
export const describeInstance = (i: InstanceRecord) => `${new URL(i.url).port ? `:${new URL(i.url).port}` : i.url} ${versionOf(i)}`;

/** An extra instance started by the show. */
export interface ExtraInstance {
  readonly child: ChildProcess;
  /** Its registry record, once registered. */
  readonly record: InstanceRecord;
  /** Its origin, e.g. `http://127.0.0.1:40123`. */
  readonly origin: string;
  /** SIGTERM (a graceful stop: it deregisters first), then waits for the exit; SIGKILL after 15 s. */
  stop(): Promise<void>;
}

/**
 * Starts one more instance of `service` over the platform's database, in registry mode, tagged `show=<tag>` and
 * with release `version`; resolves once it is in the registry.
 */
export async function startExtraInstance(
  show: Show,
  registry: RegistryView,
  options: { service: SubgraphName; version: string; tag: string },
): Promise<ExtraInstance> {
  const pgAdmin = parsePgUrl(show.env.postgresAdminUrl);
  const child = spawn(process.execPath, [TSX, "src/index.ts"], {
    cwd: path.join(ROOT, "subgraphs", options.service),
    env: {
      ...process.env,
      NODE_ENV: "development",
      LOG_LEVEL: "warn",
      HOST: "127.0.0.1",
      PORT: "0",
      DATABASE_URL: databaseUrlFor(options.service, { prefix: show.env.databasePrefix, host: pgAdmin.host, port: pgAdmin.port }),
      REDIS_URL: show.env.redisUrl,
      CONTROL_PLANE_PREFIX: show.env.controlPlanePrefix,
      DISCOVERY_MODE: "registry",
      SERVICE_VERSION: options.version,
      SERVICE_TAGS: `show=${options.tag}`,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  child.stderr!.on("data", (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  const stop = async () => {
    if (gone) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(timer);
  };
  show.defer(stop);
  const record = await show.waitFor(`the new ${options.service} instance registering`, async () => {
    if (gone) throw new ShowFailure(`the extra ${options.service} instance exited before registering:\n${output}`);
    return (await registry.instances(options.service)).find((i) => i.tags["show"] === options.tag);
  });
  return { child, record, origin: new URL(record.url).origin, stop };
}

/** `/graphql` requests an instance has answered (its own `http_request_duration_seconds` count). */
export async function servedBy(show: Show, instances: readonly InstanceRecord[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  await Promise.all(
    instances.map(async (i) => {
      const m = await show.metrics(new URL(i.url).origin).catch(() => undefined);
      counts.set(i.id, m?.value("http_request_duration_seconds_count", { route: "/graphql", method: "POST" }) ?? Number.NaN);
    }),
  );
  return counts;
}
