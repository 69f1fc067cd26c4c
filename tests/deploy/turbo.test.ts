/**
 * turbo.json: the task graph (a dry run asks turbo itself, so a config it rejects fails here) and the
 * environment it lets through in strict mode (STACK.md: unlisted variables are stripped from tasks).
 */
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseCompose, readRepoFile, ROOT, subgraphNames } from "./deploy-checks.ts";

const require = createRequire(import.meta.url);

interface TurboTask {
  taskId: string;
  task: string;
  package: string;
  command: string;
  outputs: string[] | null;
  dependencies: string[];
}

const turbo = JSON.parse(readRepoFile("turbo.json")) as {
  globalPassThroughEnv: string[];
  tasks: Record<string, { dependsOn?: string[]; outputs?: string[] }>;
};

/** True when `name` is listed, directly or through a `*` pattern. */
function passesThrough(name: string, patterns: string[]): boolean {
  return patterns.some((p) =>
    new RegExp(
      `^${p
        .split("*")
        .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
        .join(".*")}$`,
    ).test(name),
  );
}

function dryRun(...tasks: string[]): TurboTask[] {
  const bin = path.join(path.dirname(require.resolve("turbo/package.json")), "bin", "turbo");
  const out = execFileSync(process.execPath, [bin, "run", ...tasks, "--dry=json"], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" },
    maxBuffer: 64 * 1024 * 1024,
  });
  return (JSON.parse(out) as { tasks: TurboTask[] }).tasks;
}

describe("turbo.json", () => {
  it("declares build, generate, typecheck, lint and test with their dependencies", () => {
    expect(turbo.tasks["build"]).toMatchObject({ dependsOn: expect.arrayContaining(["^build", "generate"]), outputs: ["dist/**"] });
    expect(turbo.tasks["generate"]).toMatchObject({ outputs: ["src/generated/**"] });
    expect(turbo.tasks["typecheck"]?.dependsOn).toEqual(expect.arrayContaining(["generate", "^generate"]));
    expect(turbo.tasks).toHaveProperty("lint");
    expect(turbo.tasks).toHaveProperty("test");
  });

  it("plans generate for every subgraph and builds each deployable after its Prisma client", { timeout: 60_000 }, () => {
    const tasks = dryRun("generate", "build");
    const byId = new Map(tasks.map((t) => [t.taskId, t]));
    for (const name of subgraphNames()) {
      expect(byId.get(`@ecom/subgraph-${name}#generate`)?.command, name).toContain("prisma generate");
      expect(byId.get(`@ecom/subgraph-${name}#build`)?.dependencies, name).toContain(`@ecom/subgraph-${name}#generate`);
    }
    expect(byId.get("@ecom/gateway#build")?.command).toBe("tsx ../scripts/build-service.ts");
    // Workspaces without the script are planned as no-ops, not failures.
    expect(byId.get("@ecom/errors#generate")?.command).toBe("<NONEXISTENT>");
  });

  it("passes through every variable the deployables and the Prisma CLI read", () => {
    const compose = parseCompose(readRepoFile("docker-compose.yml"));
    // Our images only (Postgres' own POSTGRES_* settings never reach a turbo task).
    const ours = Object.values(compose.services).filter((s) => s.build);
    const fromCompose = ours.flatMap((s) =>
      Array.isArray(s.environment) ? s.environment.map((e) => e.split("=")[0]!) : Object.keys(s.environment ?? {}),
    );
    const required = [
      "DATABASE_URL",
      "REDIS_URL",
      "POSTGRES_ADMIN_URL",
      "NODE_ENV",
      "TEST_POSTGRES_ADMIN_URL",
      "TEST_REDIS_URL",
      "CI_REPORT_FILE",
    ];
    const missing = [...new Set([...required, ...fromCompose])].filter((name) => !passesThrough(name, turbo.globalPassThroughEnv));
    expect(missing).toEqual([]);
  });

  it("notices a variable that is not passed through", () => {
    expect(passesThrough("SUBGRAPH_ORDERS_URL", turbo.globalPassThroughEnv)).toBe(true);
    expect(passesThrough("SOMETHING_ELSE", turbo.globalPassThroughEnv)).toBe(false);
  });
});
