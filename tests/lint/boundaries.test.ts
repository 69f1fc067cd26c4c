/**
 * The lint rules that guard CONVENTIONS.md, exercised through ESLint's Node API on in-memory snippets placed at
 * virtual paths (nothing is written to disk): each forbidden case must be reported, each allowed twin must not.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ESLint, type Linter } from "eslint";
import { beforeAll, describe, expect, it } from "vitest";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

// Every virtual path linted below. The project service only knows files on disk, so those that do not exist get
// TypeScript's default project (the root tsconfig's options) instead; that is the only change to the real config.
const VIRTUAL_FILES = [
  "subgraphs/orders/src/resolvers/order.ts",
  "subgraphs/orders/src/server.ts",
  "subgraphs/orders/src/datasources/orders.ts",
  "subgraphs/orders/src/index.ts",
  "subgraphs/orders/src/env.ts",
  "subgraphs/orders/prisma/seed.ts",
  "subgraphs/orders/tests/orders.int.test.ts",
  "gateway/src/server.ts",
  "gateway/src/env.ts",
  "packages/errors/src/virtual-extra.ts",
  "packages/db/src/virtual-extra.ts",
  "packages/testing/src/virtual-extra.ts",
  "packages/service/src/virtual-extra.ts",
  "scripts/virtual-script.ts",
  "tests/lint/virtual-floating.ts",
  "vitest.config.ts",
];

let eslint: ESLint;
beforeAll(async () => {
  const { typedFiles } = (await import(pathToFileURL(path.join(root, "eslint.config.js")).href)) as { typedFiles: string[][] };
  const notOnDisk = VIRTUAL_FILES.filter((file) => !fs.existsSync(path.join(root, file)));
  eslint = new ESLint({
    cwd: root,
    overrideConfig: {
      files: typedFiles,
      languageOptions: {
        parserOptions: {
          projectService: {
            allowDefaultProject: notOnDisk,
            defaultProject: "tsconfig.json",
            maximumDefaultProjectFileMatchCount_THIS_WILL_SLOW_DOWN_LINTING: VIRTUAL_FILES.length,
          },
        },
      },
    },
  });
});

async function lint(relativePath: string, code: string): Promise<Linter.LintMessage[]> {
  if (!VIRTUAL_FILES.includes(relativePath)) throw new Error(`add ${relativePath} to VIRTUAL_FILES`);
  const [result] = await eslint.lintText(code, { filePath: path.join(root, relativePath) });
  const messages = result?.messages ?? [];
  // A parse error or "file ignored" would make every assertion below meaningless.
  expect(messages.filter((m) => m.fatal || m.ruleId === null)).toEqual([]);
  return messages;
}

const ruleIds = (messages: Linter.LintMessage[]) => messages.map((m) => m.ruleId);

describe("import boundaries", { timeout: 60_000 }, () => {
  it("reports a subgraph importing another subgraph by package name", async () => {
    const messages = await lint(
      "subgraphs/orders/src/resolvers/order.ts",
      `import { createServer } from "@ecom/subgraph-products";\nexport const server = createServer;\n`,
    );
    expect(ruleIds(messages)).toContain("no-restricted-imports");
  });

  it("reports a subgraph importing the gateway or another subgraph through a relative path", async () => {
    const intoSubgraph = await lint(
      "subgraphs/orders/src/resolvers/order.ts",
      `import { createServer } from "../../../products/src/server.ts";\nexport const server = createServer;\n`,
    );
    expect(ruleIds(intoSubgraph)).toContain("ecom/no-relative-import-into-other-workspace");

    const intoGateway = await lint(
      "subgraphs/orders/src/server.ts",
      `import { plugin } from "../../../gateway/src/plugins/auth.ts";\nexport const p = plugin;\n`,
    );
    expect(ruleIds(intoGateway)).toContain("no-restricted-imports");
    expect(ruleIds(intoGateway)).toContain("ecom/no-relative-import-into-other-workspace");
  });

  it("reports a package importing a subgraph or the gateway", async () => {
    const messages = await lint("packages/errors/src/virtual-extra.ts", `export { gateway } from "@ecom/gateway";\n`);
    expect(ruleIds(messages)).toContain("no-restricted-imports");
  });

  it("allows a subgraph to import shared packages and its own files", async () => {
    const messages = await lint(
      "subgraphs/orders/src/resolvers/order.ts",
      `import { notFound } from "@ecom/errors";\nimport { helper } from "../domain/helper.ts";\nexport const x = [notFound, helper];\n`,
    );
    expect(messages).toEqual([]);
  });
});

describe("Prisma stays in datasources and the boot file", { timeout: 60_000 }, () => {
  const prismaImport = `import { PrismaClient } from "@prisma/client";\nexport const client = new PrismaClient();\n`;
  const generatedImport = `import { PrismaClient } from "../generated/prisma/client.ts";\nexport const client = new PrismaClient();\n`;

  it("reports Prisma imported by a resolver, by package or through the generated client", async () => {
    expect(ruleIds(await lint("subgraphs/orders/src/resolvers/order.ts", prismaImport))).toContain("no-restricted-imports");
    expect(ruleIds(await lint("subgraphs/orders/src/resolvers/order.ts", generatedImport.replace("../", "../../")))).toContain(
      "no-restricted-imports",
    );
    expect(ruleIds(await lint("packages/errors/src/virtual-extra.ts", prismaImport))).toContain("no-restricted-imports");
  });

  it("allows Prisma in src/datasources, src/index.ts, prisma/ and packages/db", async () => {
    expect(await lint("subgraphs/orders/src/datasources/orders.ts", generatedImport)).toEqual([]);
    expect(await lint("subgraphs/orders/src/index.ts", generatedImport.replace("../", "./"))).toEqual([]);
    expect(await lint("subgraphs/orders/prisma/seed.ts", prismaImport)).toEqual([]);
    expect(await lint("packages/db/src/virtual-extra.ts", prismaImport)).toEqual([]);
  });

  it("still enforces the subgraph boundary inside datasources", async () => {
    const messages = await lint(
      "subgraphs/orders/src/datasources/orders.ts",
      `import { x } from "@ecom/subgraph-users";\nexport const y = x;\n`,
    );
    expect(ruleIds(messages)).toContain("no-restricted-imports");
  });
});

describe("process.env is read only in env.ts", { timeout: 60_000 }, () => {
  it("reports process.env outside env.ts, however it is reached", async () => {
    const member = await lint("subgraphs/orders/src/server.ts", `export const port = process.env["PORT"];\n`);
    expect(ruleIds(member)).toContain("no-restricted-properties");

    const destructured = await lint("packages/errors/src/virtual-extra.ts", `const { env } = process;\nexport const port = env["PORT"];\n`);
    expect(ruleIds(destructured)).toContain("no-restricted-properties");

    const imported = await lint("gateway/src/server.ts", `import { env } from "node:process";\nexport const port = env["PORT"];\n`);
    expect(ruleIds(imported)).toContain("no-restricted-syntax");
  });

  it("allows process.env in env.ts, scripts, tests and config files", async () => {
    const code = `export const port = process.env["PORT"];\n`;
    for (const file of [
      "subgraphs/orders/src/env.ts",
      "gateway/src/env.ts",
      "scripts/virtual-script.ts",
      "subgraphs/orders/tests/orders.int.test.ts",
      "packages/testing/src/virtual-extra.ts",
      "vitest.config.ts",
    ]) {
      expect(await lint(file, code), file).toEqual([]);
    }
  });
});

describe("type-aware rules", { timeout: 60_000 }, () => {
  const declaration = `async function save(): Promise<void> {}\n`;

  it("reports a floating promise", async () => {
    for (const file of ["tests/lint/virtual-floating.ts", "packages/errors/src/virtual-extra.ts"]) {
      expect(ruleIds(await lint(file, `${declaration}save();\n`)), file).toContain("@typescript-eslint/no-floating-promises");
    }
  });

  it("accepts an awaited or explicitly voided promise", async () => {
    const code = `${declaration}export async function run(): Promise<void> {\n  await save();\n  void save();\n}\n`;
    expect(await lint("tests/lint/virtual-floating.ts", code)).toEqual([]);
  });

  it("requires type-only imports to say so", async () => {
    const code = `import { Identity } from "@ecom/auth";\nexport function f(i: Identity): Identity {\n  return i;\n}\n`;
    expect(ruleIds(await lint("packages/service/src/virtual-extra.ts", code))).toContain("@typescript-eslint/consistent-type-imports");
    expect(await lint("packages/service/src/virtual-extra.ts", code.replace("import {", "import type {"))).toEqual([]);
  });
});
