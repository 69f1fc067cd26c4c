import { createRequire } from "node:module";
import { defineConfig } from "vitest/config";

// Three projects, split by file suffix (CONVENTIONS.md):
//   *.test.ts      unit: in-process, no services
//   *.int.test.ts  integration: real Postgres and Redis, in an isolated test run (own databases, key prefix)
//   *.e2e.test.ts  end-to-end: real processes (gateway, subgraphs, workers) on free ports
const exclude = ["**/node_modules/**", "**/dist/**", "**/generated/**", "**/__generated__/**"];
const globalSetup = ["packages/testing/src/global-setup.ts"];

export default defineConfig({
  // One copy of graphql: Vite would resolve `graphql` to its ESM build (package.json "module") for our files
  // while the Apollo packages require() the CommonJS build, and graphql refuses schemas from another copy
  // ("Duplicate graphql modules"). Node itself (tsx, production) always loads the CommonJS build.
  resolve: { alias: [{ find: /^graphql$/, replacement: createRequire(import.meta.url).resolve("graphql") }] },
  test: {
    reporters: process.env["CI_REPORT_FILE"] ? ["default", ["json", { outputFile: process.env["CI_REPORT_FILE"] }]] : ["default"],
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["**/*.test.ts"],
          exclude: [...exclude, "**/*.int.test.ts", "**/*.e2e.test.ts"],
          testTimeout: 10_000,
        },
      },
      {
        extends: true,
        test: {
          name: "int",
          include: ["**/*.int.test.ts"],
          exclude,
          globalSetup,
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: "e2e",
          include: ["**/*.e2e.test.ts"],
          exclude,
          globalSetup,
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Each e2e file starts a fleet of processes; two at once would starve a 2-core machine.
          fileParallelism: false,
        },
      },
    ],
  },
});
