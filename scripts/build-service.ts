/**
 * Bundles one deployable (`gateway` or `subgraphs/<name>`) for its container: `<ws>/src/index.ts` ->
 * `<ws>/dist/index.js` (ESM, Node 20), and its worker `<ws>/src/worker.ts` -> `<ws>/dist/worker.js` when it has one
 * (the same image runs both; the worker's Deployment sets the command).
 *
 * The `@ecom/*` workspace packages export TypeScript source, so they are inlined; every other npm package stays
 * external and is resolved at run time from the image's production `node_modules` (native addons, Prisma's wasm
 * runtime and CommonJS packages keep working as published). Files next to the sources that are read at run time
 * through `new URL("./x", import.meta.url)` (e.g. `src/schema.graphql`) are copied to the same place under `dist/`.
 *
 * Usage: from a deployable's folder `tsx ../../scripts/build-service.ts` (its `npm run build`), or from the root
 * `tsx scripts/build-service.ts subgraphs/users`.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { createRequire, isBuiltin } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Metafile, type Plugin } from "esbuild";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Options of {@link buildService}. */
export interface BuildServiceOptions {
  /** The deployable's folder, absolute or relative to the repository root (`gateway`, `subgraphs/users`). */
  workspace: string;
  /**
   * Entry file, relative to the workspace.
   * @default "src/index.ts"
   */
  entry?: string;
  /**
   * Output folder, absolute or relative to the workspace.
   * @default "dist"
   */
  outdir?: string;
}

/** What {@link buildService} produced. */
export interface BuildServiceResult {
  /** `dist/index.js` (or the bundle of `entry`). */
  outfile: string;
  /** Every bundle written: `outfile`, and `dist/worker.js` for a deployable with a worker. */
  outfiles: string[];
  /** Bare module specifiers left to `node_modules` at run time. */
  externals: string[];
  /** Copied run-time assets, relative to the output folder. */
  assets: string[];
  metafile: Metafile;
}

/** Package name of a bare specifier (`@scope/name/sub` -> `@scope/name`, `name/sub` -> `name`). */
function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? specifier);
}

/**
 * Inlines `@ecom/*`; every other bare import (and `node:` built-ins) stays an import of the bundle. The bundle runs
 * from the deployable's folder, so an import moves from, say, packages/observability (whose own node_modules holds
 * @opentelemetry/resources 2.x) to subgraphs/users (which finds @apollo/gateway's hoisted 1.x at the root) and would
 * load the wrong major at run time. A package that its importer finds in another copy than the deployable's folder
 * does is imported by the relative path of that copy's entry file instead; the runtime layout keeps the repository's
 * paths, so the path holds in the image too.
 */
function externalizeNpmPackages(workspace: string, outdir: string, externals: Set<string>): Plugin {
  return {
    name: "externalize-npm-packages",
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (path.isAbsolute(args.path) || args.path.startsWith("@ecom/")) return undefined;
        if (isBuiltin(args.path)) return { path: args.path, external: true };
        const name = packageName(args.path);
        const seen = installedCopy(args.resolveDir, name);
        if (seen !== undefined && seen !== installedCopy(workspace, name)) {
          // Node's own resolution from the importer (these packages are CommonJS with a `main`).
          const file = createRequire(path.join(args.resolveDir, "noop.js")).resolve(args.path);
          return { path: `./${path.relative(outdir, file).split(path.sep).join("/")}`, external: true };
        }
        externals.add(name);
        return { path: args.path, external: true };
      });
    },
  };
}

/** The real folder of the copy of package `name` that Node finds from `dir` (node_modules up to the root). */
function installedCopy(dir: string, name: string): string | undefined {
  for (let current = dir; ; current = path.dirname(current)) {
    const candidate = path.join(current, "node_modules", name, "package.json");
    if (existsSync(candidate)) return realpathSync(path.dirname(candidate));
    if (current === path.dirname(current)) return undefined;
  }
}

/**
 * Externals the image would not have: the runtime stage keeps only production dependencies (`npm prune
 * --omit=dev`) installed at the root or in the deployable's own folder. An external must be declared in the
 * `dependencies` of the deployable or of an inlined @ecom/* package, and be installed where Node finds it from
 * the deployable's folder; otherwise the container would crash at start, so the build fails instead.
 */
function externalProblems(workspace: string, metafile: Metafile, externals: string[]): string[] {
  const owners = new Set([workspace]);
  for (const input of Object.keys(metafile.inputs)) {
    const match = /^(.*[\\/]packages[\\/][^\\/]+)[\\/]/.exec(path.resolve(workspace, input));
    if (match && !match[1]!.includes("node_modules")) owners.add(match[1]!);
  }
  const declared = new Set<string>();
  for (const dir of owners) {
    const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as Record<string, Record<string, string> | undefined>;
    for (const field of ["dependencies", "optionalDependencies", "peerDependencies"])
      Object.keys(pkg[field] ?? {}).forEach((d) => declared.add(d));
  }
  const problems: string[] = [];
  for (const name of externals) {
    if (!declared.has(name)) {
      problems.push(
        `${name} is imported but is not in the dependencies of ${path.relative(ROOT, workspace)} or of the @ecom packages it inlines`,
      );
    } else if (!isInstalledFrom(workspace, name)) {
      problems.push(`${name} is not installed where ${path.relative(ROOT, workspace)} can load it (node_modules up to the root)`);
    }
  }
  return problems;
}

function isInstalledFrom(dir: string, name: string): boolean {
  for (let current = dir; ; current = path.dirname(current)) {
    if (existsSync(path.join(current, "node_modules", name, "package.json"))) return true;
    if (current === path.dirname(current)) return false;
  }
}

const SOURCE_FILE = /\.(c|m)?(t|j)sx?$/;

/** Non-code files under `src/` (excluding generated code), relative to `src/`. */
function runtimeAssets(srcDir: string, relative = ""): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(path.join(srcDir, relative), { withFileTypes: true })) {
    const rel = path.join(relative, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === "generated" || entry.name === "__generated__") continue;
      found.push(...runtimeAssets(srcDir, rel));
    } else if (!SOURCE_FILE.test(entry.name)) {
      found.push(rel);
    }
  }
  return found;
}

/** Bundles one deployable into `<workspace>/dist/index.js` (and `dist/worker.js`). */
export async function buildService(options: BuildServiceOptions): Promise<BuildServiceResult> {
  const workspace = path.resolve(ROOT, options.workspace);
  const entry = path.join(workspace, options.entry ?? "src/index.ts");
  const outdir = path.resolve(workspace, options.outdir ?? "dist");
  if (!existsSync(entry)) throw new Error(`no entry point: ${path.relative(ROOT, entry)}`);
  const worker = path.join(workspace, "src", "worker.ts");
  const entries = options.entry === undefined && existsSync(worker) ? [entry, worker] : [entry];

  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const externals = new Set<string>();
  const outfile = path.join(outdir, "index.js");
  const outfiles = entries.map((e) => (e === entry ? outfile : path.join(outdir, `${path.basename(e, ".ts")}.js`)));
  const result = await build({
    absWorkingDir: workspace,
    entryPoints: entries.map((e, i) => ({ in: e, out: path.basename(outfiles[i]!, ".js") })),
    outdir,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: "linked",
    metafile: true,
    logLevel: "warning",
    // Bundled CommonJS-style code may still call require(): give ESM output one.
    banner: {
      js: 'import { createRequire as __ecomCreateRequire } from "node:module";\nconst require = __ecomCreateRequire(import.meta.url);',
    },
    plugins: [externalizeNpmPackages(workspace, outdir, externals)],
  });

  const sortedExternals = [...externals].sort();
  const problems = externalProblems(workspace, result.metafile, sortedExternals);
  if (problems.length > 0) throw new Error(`cannot ship ${path.relative(ROOT, workspace)}:\n  ${problems.join("\n  ")}`);

  const srcDir = path.dirname(entry);
  const assets = runtimeAssets(srcDir);
  for (const asset of assets) cpSync(path.join(srcDir, asset), path.join(outdir, asset));
  return { outfile, outfiles, externals: sortedExternals, assets, metafile: result.metafile };
}

/** The workspace to build: the argument, else the current folder (as `npm run build` in a workspace runs it). */
function workspaceFromArgs(argv: string[]): string {
  const arg = argv[2];
  if (arg) return arg;
  const cwd = path.relative(ROOT, process.cwd());
  if (cwd === "" || cwd.startsWith("..")) throw new Error("usage: tsx scripts/build-service.ts <gateway|subgraphs/NAME>");
  return cwd;
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  const workspace = workspaceFromArgs(process.argv);
  buildService({ workspace })
    .then((r) => {
      const kb = Math.round(r.metafile.outputs[path.relative(path.resolve(ROOT, workspace), r.outfile)]?.bytes ?? 0) / 1024;
      const built = r.outfiles.map((f) => path.relative(ROOT, f)).join(" + ");
      process.stdout.write(
        `built ${built} (${kb.toFixed(0)} KiB, ${Date.now() - started} ms); ` +
          `external: ${r.externals.join(", ") || "none"}${r.assets.length ? `; assets: ${r.assets.join(", ")}` : ""}\n`,
      );
    })
    .catch((error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    });
}
