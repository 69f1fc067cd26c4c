/**
 * The Dockerfile, checked statically: dockerfile-utils' validator (unknown instructions, bad flags) and the
 * project's policy (multi-stage, non-root, HEALTHCHECK on /health/ready, the agreed entry point).
 */
import { describe, expect, it } from "vitest";
import { dockerfilePolicyProblems, dockerfileSyntaxProblems, dockerStages, parseCompose, readRepoFile } from "./deploy-checks.ts";

const dockerfile = readRepoFile("Dockerfile");

describe("Dockerfile", () => {
  it("has no syntax errors", () => {
    expect(dockerfileSyntaxProblems(dockerfile).filter((p) => p.severity === 1)).toEqual([]);
  });

  it("follows the image policy", () => {
    expect(dockerfilePolicyProblems(dockerfile)).toEqual([]);
  });

  it("has the stages docker-compose.yml builds", () => {
    const compose = parseCompose(readRepoFile("docker-compose.yml"));
    const targets = Object.values(compose.services).flatMap((s) => (typeof s.build === "object" && s.build.target ? [s.build.target] : []));
    expect(targets.length).toBeGreaterThan(0);
    for (const target of targets) expect(dockerStages(dockerfile)).toContain(target);
  });

  it("keeps local artefacts out of the build context (.dockerignore)", () => {
    const ignored = readRepoFile(".dockerignore")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    for (const entry of ["**/node_modules", "**/dist", "**/src/generated", ".git", ".env"]) expect(ignored).toContain(entry);
  });
});

describe("the Dockerfile checks catch broken copies", () => {
  it("rejects an unknown instruction (RUNN)", () => {
    const broken = dockerfile.replace(/^RUN npm ci$/m, "RUNN npm ci");
    expect(broken).not.toBe(dockerfile);
    expect(dockerfileSyntaxProblems(broken)).toContainEqual(expect.objectContaining({ severity: 1, message: "Unknown instruction: RUNN" }));
  });

  it("rejects a runtime stage without USER, or with USER root", () => {
    const withoutUser = dockerfile.replace(/^USER .*$/m, "");
    expect(dockerfilePolicyProblems(withoutUser)).toContain("final stage has no USER (runs as root)");
    const asRoot = dockerfile.replace(/^USER .*$/m, "USER root");
    expect(dockerfilePolicyProblems(asRoot)).toContain("final stage runs as root");
  });

  it("rejects a single-stage build and a missing HEALTHCHECK", () => {
    const singleStage = dockerfile
      .split(/^FROM /m)
      .slice(0, 2)
      .join("FROM ");
    expect(dockerfilePolicyProblems(singleStage)).toContain("not a multi-stage build (fewer than two FROM)");
    const noHealthcheck = dockerfile.replace(/^HEALTHCHECK (.*\\\n)*.*$/m, "");
    expect(dockerfilePolicyProblems(noHealthcheck)).toContain("final stage has no HEALTHCHECK");
  });

  it("rejects another entry point", () => {
    const broken = dockerfile.replace('CMD ["node", "dist/index.js"]', 'CMD ["npx", "tsx", "src/index.ts"]');
    expect(dockerfilePolicyProblems(broken)).toContain('CMD is not ["node","dist/index.js"]');
  });
});
