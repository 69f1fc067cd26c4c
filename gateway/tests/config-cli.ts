/** `npm run config` for the gateway's e2e tests: the same CLI, in-process, on a test's own control-plane prefix. */
import { createLiveConfigStore, platformConfigSchema, runConfigCli } from "@ecom/live-config";
import type { Redis } from "ioredis";

/** What one CLI run answered: its exit code and what it printed on stdout and stderr. */
export interface ConfigCliResult {
  code: number;
  out: string;
  err: string;
}

/** Runs `npm run config -- <argv>` against the live configuration under `prefix` (author "e2e"). */
export async function runConfig(redis: Redis, prefix: string, argv: string[]): Promise<ConfigCliResult> {
  let out = "";
  let err = "";
  const code = await runConfigCli(argv, {
    store: createLiveConfigStore({ redis, prefix, schema: platformConfigSchema }),
    out: { write: (s: string) => ((out += s), true) },
    err: { write: (s: string) => ((err += s), true) },
    defaultAuthor: "e2e",
  });
  return { code, out, err };
}
