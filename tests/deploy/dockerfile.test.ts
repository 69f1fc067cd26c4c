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

  it("has a migrate stage for the Kubernetes migration Jobs (prisma migrate deploy of one service)", () => {
    expect(dockerStages(dockerfile)).toContain("migrate");
    expect(dockerfile).toMatch(/FROM build AS migrate[\s\S]*CMD \["\/app\/node_modules\/\.bin\/prisma", "migrate", "deploy"\]/);
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
    // The runtime stage's USER is the last one (the migrate stage has its own).
    const withoutUser = dockerfile.replace(/^USER .*$(?![\s\S]*^USER )/m, "");
    expect(dockerfilePolicyProblems(withoutUser)).toContain("final stage has no USER (runs as root)");
    const asRoot = dockerfile.replace(/^USER .*$(?![\s\S]*^USER )/m, "USER root");
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

  it("rejects an image that ships a whole node_modules instead of the traced runtime layout", () => {
    const broken = dockerfile.replace(
      "COPY --from=build --chown=root:root /runtime/ /app/",
      "COPY --from=build /app/node_modules ./node_modules",
    );
    expect(broken).not.toBe(dockerfile);
    const problems = dockerfilePolicyProblems(broken);
    expect(problems).toContain("final stage does not copy /runtime to /app");
    expect(problems).toContain("final stage copies a node_modules folder (ship the traced layout)");
    const noLayout = dockerfile.replace(/^RUN npx tsx scripts\/runtime-layout\.ts .*$/m, "RUN true");
    expect(dockerfilePolicyProblems(noLayout)).toContain(
      "the build stage does not assemble the runtime layout (scripts/runtime-layout.ts ${SERVICE} /runtime)",
    );
  });

  it("rejects another entry point", () => {
    const broken = dockerfile.replace('CMD ["node", "dist/index.js"]', 'CMD ["npx", "tsx", "src/index.ts"]');
    expect(dockerfilePolicyProblems(broken)).toContain('CMD is not ["node","dist/index.js"]');
  });
});
