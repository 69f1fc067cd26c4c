// ESLint flat config (ESLint 10 + typescript-eslint 8).
//
// Two things make this file longer than a plain preset:
// 1. The import boundaries of shared/CONVENTIONS.md, one `no-restricted-imports` setting per kind of directory.
//    ESLint does not merge rule options across config objects (the last match wins), so every block below
//    carries the complete list for the files it matches; `restrictedImports()` assembles them.
// 2. Type-aware rules (no-floating-promises...) need the file to belong to a tsconfig. Workspaces appear while
//    other work is in flight, some before their tsconfig.json; a file outside every tsconfig would be a parse
//    error for the project service. So type information is switched on only for the files that the repo's
//    tsconfig.json files include (read below), and every other file still gets the syntactic rules.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import js from "@eslint/js";
import { defineConfig, globalIgnores } from "eslint/config";
import tseslint from "typescript-eslint";
import ts from "typescript";

const root = path.dirname(fileURLToPath(import.meta.url));
const TS_FILES = "**/*.{ts,mts,cts,tsx}";
const ALL_FILES = "**/*.{ts,mts,cts,tsx,js,mjs,cjs}";

// ---------------------------------------------------------------------------------------------------------------
// Which files get type information: the `include` specs of every tsconfig.json (root and workspaces), as globs.
// ---------------------------------------------------------------------------------------------------------------

/** Workspace folders (relative, posix) from the root package.json's `workspaces` (`dir/*` or a plain folder). */
function workspaceDirs() {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
  const dirs = [];
  for (const pattern of pkg.workspaces ?? []) {
    if (pattern.endsWith("/*")) {
      const parent = pattern.slice(0, -2);
      const abs = path.join(root, parent);
      if (!fs.existsSync(abs)) continue;
      for (const entry of fs.readdirSync(abs, { withFileTypes: true })) {
        if (entry.isDirectory()) dirs.push(`${parent}/${entry.name}`);
      }
    } else {
      dirs.push(pattern);
    }
  }
  return dirs;
}

/** The `include` of a tsconfig, following relative `extends` when the file has none of its own; relative to root. */
function includeSpecs(configPath, depth = 0) {
  const { config, error } = ts.readConfigFile(configPath, ts.sys.readFile);
  if (error || !config || depth > 5) return [];
  const dir = path.relative(root, path.dirname(configPath)).split(path.sep).join("/");
  if (Array.isArray(config.include)) return config.include.map((spec) => ({ dir, spec }));
  if (Array.isArray(config.files)) return config.files.map((spec) => ({ dir, spec }));
  if (typeof config.extends === "string" && config.extends.startsWith(".")) {
    return includeSpecs(path.resolve(path.dirname(configPath), config.extends), depth + 1);
  }
  return [{ dir, spec: "**/*" }];
}

function specToGlob({ dir, spec }) {
  const clean = spec.replace(/^\.\//, "").replace(/\/$/, "");
  const prefix = dir === "" ? "" : `${dir}/`;
  const isPattern = /[*?]/.test(clean) || /\.[cm]?[jt]sx?$/.test(clean);
  return isPattern ? `${prefix}${clean}` : `${prefix}${clean}/**/*`;
}

function typedFileGlobs() {
  const globs = [];
  for (const dir of ["", ...workspaceDirs()]) {
    const configPath = path.join(root, dir, "tsconfig.json");
    if (fs.existsSync(configPath)) globs.push(...includeSpecs(configPath).map(specToGlob));
  }
  return globs;
}

// ---------------------------------------------------------------------------------------------------------------
// Import boundaries (CONVENTIONS.md "Boundaries")
// ---------------------------------------------------------------------------------------------------------------

const NO_OTHER_SERVICE = [
  {
    group: ["@ecom/subgraph-*", "@ecom/gateway", "@ecom/gateway/*"],
    message: "A subgraph never imports another subgraph or the gateway: share code through packages/* (CONVENTIONS.md).",
  },
  {
    // Relative paths that climb into subgraphs/ or gateway/ (e.g. ../../subgraphs/products/src/x.ts).
    regex: "^(\\.\\.?/)+(.*/)?(subgraphs|gateway)(/|$)",
    message: "Do not reach into another service through a relative path: services talk through the graph or events.",
  },
];

const NO_SERVICES_FROM_PACKAGES = [
  {
    group: ["@ecom/subgraph-*", "@ecom/gateway", "@ecom/gateway/*"],
    message: "packages/* are shared libraries: they never import a subgraph or the gateway.",
  },
  {
    regex: "^(\\.\\.?/)+(.*/)?(subgraphs|gateway)(/|$)",
    message: "packages/* never import a subgraph or the gateway.",
  },
];

const NO_PRISMA = [
  {
    // @prisma/instrumentation is OpenTelemetry's hook into Prisma (no database access): packages/observability uses it.
    group: ["@prisma/*", "!@prisma/instrumentation"],
    message: "Prisma is imported only by src/datasources/** and the boot file (src/index.ts).",
  },
  {
    // The generated client, however it is reached (../generated/prisma/client.ts, ./generated/prisma).
    regex: "(^|/)generated/prisma",
    message: "The generated Prisma client is imported only by src/datasources/** and the boot file (src/index.ts).",
  },
];

/** One complete `no-restricted-imports` setting from the pattern groups that apply. */
function restrictedImports(...groups) {
  return ["error", { patterns: groups.flat() }];
}

// Where Prisma may be imported (besides packages/db/**, handled with the packages).
const PRISMA_ALLOWED_IN_SUBGRAPHS = [
  "subgraphs/*/src/datasources/**",
  "subgraphs/*/src/index.ts",
  "subgraphs/*/prisma/**",
  "subgraphs/*/prisma.config.ts",
  "subgraphs/*/**/seed.ts",
  "subgraphs/*/**/seed/**",
];
const PRISMA_ALLOWED_AT_ROOT = ["prisma/**", "**/seed.ts", "**/seed/**"];

// `process.env` is read only in env.ts files; tooling, tests and config files may read it.
const PROCESS_ENV_ALLOWED = [
  "**/env.ts",
  "scripts/**",
  "**/prisma/**",
  "**/tests/**",
  "**/*.test.ts",
  "**/*.config.ts",
  "**/*.config.js",
  "packages/testing/**",
  "packages/db/src/prisma-config.ts",
];
const PROCESS_ENV_MESSAGE = "Read process.env only in env.ts (a zod schema, all errors reported at once): pass config in.";

/** Local rule: a relative import never reaches into another workspace (use its package name, declared in package.json). */
const localPlugin = {
  rules: {
    "no-relative-import-into-other-workspace": {
      meta: {
        type: "problem",
        docs: { description: "Relative imports never reach into another workspace; it is reached by package name." },
        schema: [],
        messages: { outside: "'{{source}}' reaches from {{workspace}} into {{other}}: import the package by name (@ecom/...) instead." },
      },
      create(context) {
        const relative = path.relative(root, context.filename).split(path.sep).join("/");
        const match = /^(packages|subgraphs)\/[^/]+|^gateway(?=\/)/.exec(relative);
        if (!match) return {};
        const check = (node) => {
          const source = node.source?.value;
          if (typeof source !== "string" || !source.startsWith(".")) return;
          const target = path
            .relative(root, path.resolve(path.dirname(context.filename), source))
            .split(path.sep)
            .join("/");
          const other = /^(packages|subgraphs)\/[^/]+|^gateway(?=\/|$)/.exec(target);
          // Root tooling (scripts/, prisma/) is not a workspace; another workspace is reached by package name.
          if (other && other[0] !== match[0]) {
            context.report({ node: node.source, messageId: "outside", data: { source, workspace: match[0], other: other[0] } });
          }
        };
        return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check, ImportExpression: check };
      },
    },
  },
};

/**
 * The `files` of the type-aware block: each entry pairs a tsconfig include glob with the TypeScript extensions.
 * Exported for tests that lint virtual (not on disk) files, which the project service cannot find by itself.
 */
export const typedFiles = typedFileGlobs().map((glob) => [glob, TS_FILES]);

export default defineConfig([
  globalIgnores(["**/node_modules/**", "**/dist/**", "**/generated/**", "**/__generated__/**", "**/coverage/**", "**/.turbo/**"]),

  {
    files: [ALL_FILES],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    plugins: { ecom: localPlugin },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    languageOptions: { ecmaVersion: "latest", sourceType: "module" },
    rules: {
      "@typescript-eslint/consistent-type-imports": ["error", { prefer: "type-imports", fixStyle: "separate-type-imports" }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_" }],
      "no-restricted-imports": restrictedImports(NO_PRISMA),
      "no-restricted-properties": ["error", { object: "process", property: "env", message: PROCESS_ENV_MESSAGE }],
      "no-restricted-syntax": [
        "error",
        {
          selector: "ImportDeclaration[source.value=/^(node:)?process$/] ImportSpecifier[imported.name='env']",
          message: PROCESS_ENV_MESSAGE,
        },
      ],
      "ecom/no-relative-import-into-other-workspace": "error",
    },
  },

  // Plain JavaScript (this file, tool configs) runs on Node.
  {
    files: ["**/*.{js,mjs,cjs}"],
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        URL: "readonly",
        Buffer: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
      },
    },
  },

  // Type-aware rules, for the files a tsconfig.json includes.
  {
    files: typedFiles,
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: root } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { arguments: false, attributes: false } }],
      "@typescript-eslint/await-thenable": "error",
      "@typescript-eslint/switch-exhaustiveness-check": ["error", { considerDefaultExhaustiveForUnions: true }],
    },
  },

  // Boundaries per kind of directory (each block carries its complete no-restricted-imports list).
  { files: ["subgraphs/**"], rules: { "no-restricted-imports": restrictedImports(NO_OTHER_SERVICE, NO_PRISMA) } },
  { files: PRISMA_ALLOWED_IN_SUBGRAPHS, rules: { "no-restricted-imports": restrictedImports(NO_OTHER_SERVICE) } },
  { files: ["packages/**"], rules: { "no-restricted-imports": restrictedImports(NO_SERVICES_FROM_PACKAGES, NO_PRISMA) } },
  { files: ["packages/db/**"], rules: { "no-restricted-imports": restrictedImports(NO_SERVICES_FROM_PACKAGES) } },
  // Root prisma/ orchestrates every service's database and seed: it may reach Prisma.
  { files: PRISMA_ALLOWED_AT_ROOT, ignores: ["subgraphs/**", "packages/**", "gateway/**"], rules: { "no-restricted-imports": "off" } },

  {
    files: PROCESS_ENV_ALLOWED,
    rules: { "no-restricted-properties": "off", "no-restricted-syntax": "off" },
  },
]);
