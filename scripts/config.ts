/**
 * `npm run config -- get [key] | set key value | unset key | diff [v1] [v2] | history | rollback [version]`: the
 * live configuration of every gateway (and any other subscribed process), see packages/live-config. Changes are
 * validated before they are written and take effect in every subscribed process within a second.
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import { createLiveConfigStore, platformConfigSchema, runConfigCli } from "@ecom/live-config";
import { Redis } from "ioredis";
import { loadConfigEnv } from "./config-env.ts";

/** Runs the CLI against the configured Redis; resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const env = loadConfigEnv();
  const redis = new Redis(env.REDIS_URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on("error", () => {});
  try {
    await redis.connect();
  } catch (error) {
    process.stderr.write(
      `Cannot reach Redis at ${env.REDIS_URL} (${(error as Error).message}): start it (see README, Quick start) or set REDIS_URL.\n`,
    );
    return 1;
  }
  try {
    const store = createLiveConfigStore({ redis, prefix: env.CONTROL_PLANE_PREFIX, schema: platformConfigSchema });
    return await runConfigCli(argv, { store, out: process.stdout, err: process.stderr, defaultAuthor: env.USER });
  } finally {
    redis.disconnect();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
