/**
 * vitest globalSetup of the `int` and `e2e` projects: one isolated test run (databases, roles, Redis prefix)
 * shared by both projects of one `vitest` process, dropped when the process finishes.
 */
import type { TestProject } from "vitest/node";
import { setupTestRun, teardownTestRun, type TestRunInfo } from "./run.ts";

interface SharedRun {
  run: Promise<TestRunInfo>;
  users: number;
}

// Both projects load this file in the same main process; the run is shared through a global so that it is
// created (and migrated) once, and dropped when the last project finishes.
const KEY = Symbol.for("ecom.testing.sharedRun");
const holder = globalThis as unknown as Record<symbol, SharedRun | undefined>;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let shared = holder[KEY];
  if (!shared) {
    const started = Date.now();
    const adminUrl =
      process.env["TEST_POSTGRES_ADMIN_URL"] ?? process.env["POSTGRES_ADMIN_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres";
    const redisUrl = process.env["TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379/0";
    shared = {
      run: setupTestRun({ adminUrl, redisUrl, onProgress: (line) => process.stderr.write(`[test-run] ${line}\n`) }).then((run) => {
        process.stderr.write(`[test-run] ${run.prefix}: ${run.services.length} service databases ready in ${Date.now() - started} ms\n`);
        return run;
      }),
      users: 0,
    };
    holder[KEY] = shared;
  }
  shared.users++;
  const run = await shared.run;
  project.provide("testRun", run);
  return async () => {
    shared.users--;
    if (shared.users === 0) {
      holder[KEY] = undefined;
      await teardownTestRun(run);
    }
  };
}
