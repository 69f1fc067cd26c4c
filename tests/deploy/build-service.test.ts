/**
 * scripts/build-service.ts: a deployable becomes one ESM file that inlines the @ecom/* workspace packages (they
 * export TypeScript source, which node_modules cannot run) and leaves every npm package to node_modules.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildService, ROOT } from "../../scripts/build-service.ts";

const FIXTURE = "tests/deploy/fixtures/service";

afterAll(() => rmSync(path.join(ROOT, FIXTURE, "dist"), { recursive: true, force: true }));

describe("build-service", { timeout: 60_000 }, () => {
  it("bundles a deployable into dist/index.js that runs from node_modules alone", async () => {
    const result = await buildService({ workspace: FIXTURE });

    expect(path.relative(ROOT, result.outfile)).toBe(`${FIXTURE}/dist/index.js`);
    // The workspace package is inlined, the npm package is not.
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((i) => i.endsWith("packages/errors/src/index.ts"))).toBe(true);
    expect(inputs.filter((i) => i.includes("node_modules"))).toEqual([]);
    expect(result.externals).toEqual(["graphql"]);

    const code = readFileSync(result.outfile, "utf8");
    expect(code).not.toMatch(/from ["']@ecom\//);
    expect(code).toMatch(/from ["']graphql["']/);
    expect(result.assets).toEqual(["message.txt"]);

    const out = execFileSync(process.execPath, [result.outfile], { cwd: path.dirname(result.outfile), encoding: "utf8" });
    expect(JSON.parse(out)).toEqual({
      code: "NOT_FOUND",
      graphql: expect.stringMatching(/^16\./),
      greeting: "hello, bundle",
      asset: "asset copied next to the bundle",
    });
  });

  it("refuses an npm import that is not a production dependency (the image would not have it)", async () => {
    await expect(buildService({ workspace: FIXTURE, entry: "src/undeclared.ts" })).rejects.toThrow(
      /yaml is imported but is not in the dependencies of tests\/deploy\/fixtures\/service/,
    );
  });

  it("fails clearly when the deployable has no entry point", async () => {
    await expect(buildService({ workspace: FIXTURE, entry: "src/missing.ts" })).rejects.toThrow(/no entry point/);
  });
});

describe("deployables", () => {
  const deployables = ["gateway", ...readdirSync(path.join(ROOT, "subgraphs")).map((name) => `subgraphs/${name}`)];
  const tmp = mkdtempSync(path.join(os.tmpdir(), "build-service-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  // What the Dockerfile's build stage does for each SERVICE, minus the install: a missing entry point or an import
  // esbuild cannot resolve fails here rather than in an image build.
  it.each(deployables.filter((ws) => existsSync(path.join(ROOT, ws, "src/index.ts"))))(
    "%s bundles with only npm packages left external",
    async (workspace) => {
      const result = await buildService({ workspace, outdir: path.join(tmp, workspace) });
      expect(Object.keys(result.metafile.inputs).filter((i) => i.includes("node_modules"))).toEqual([]);
      expect(result.externals).toContain("graphql");
      expect(result.externals.filter((e) => e.startsWith("@ecom/"))).toEqual([]);
    },
    60_000,
  );

  it.each(deployables)("%s builds with scripts/build-service.ts", (workspace) => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, workspace, "package.json"), "utf8")) as { scripts?: Record<string, string> };
    const relative = path.relative(path.join(ROOT, workspace), path.join(ROOT, "scripts/build-service.ts"));
    expect(pkg.scripts?.["build"]).toBe(`tsx ${relative}`);
  });
});
