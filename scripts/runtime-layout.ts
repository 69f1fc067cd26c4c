/**
 * Assembles the runtime layout of one deployable: exactly the files its container image holds under `/app`.
 *
 *   <out>/<workspace>/package.json
 *   <out>/<workspace>/<files...>          the workspace's package.json `files` (default `dist`), e.g. the gateway's
 *                                          supergraph.graphql beside its bundle
 *   <out>/node_modules/...                 only the files the bundle loads at run time, traced from its entry
 *   <out>/package.json                     the root's, for `"type": "module"`
 *
 * The bundle (scripts/build-service.ts) inlines the @ecom/* packages and leaves npm packages external; the
 * production files those externals need are found with @vercel/nft (the file tracer behind Next.js' standalone
 * output), which follows every require/import, including Prisma's wasm engine and native addons. So an image
 * carries its own production dependencies and nothing else: no dev tools, no other service's packages, none of
 * the monorepo's hoisted extras (`npm prune --omit=dev` would keep every workspace's dependencies; a
 * `turbo prune` + `npm ci --omit=dev` still installs every workspace it keeps, test helpers included).
 *
 * The Dockerfile's build stage runs `tsx scripts/runtime-layout.ts $SERVICE /runtime` and the runtime stage
 * copies `/runtime` to `/app`; tests/deploy/runtime-layout.int.test.ts builds the same layout outside the
 * repository and starts each deployable from it.
 */
import { cpSync, existsSync, lstatSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { nodeFileTrace } from "@vercel/nft";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** What {@link runtimeLayout} produced. */
export interface RuntimeLayout {
  /** The layout's root (the image's `/app`). */
  dir: string;
  /** The deployable's folder inside it (the image's WORKDIR). */
  workdir: string;
  /** npm packages copied into `node_modules` (name@version), sorted. */
  packages: string[];
  /** Number of files copied. */
  files: number;
}

/** The entry points the image runs: `dist/index.js`, and `dist/worker.js` when the deployable has a worker. */
function entries(workspaceDir: string): string[] {
  return ["dist/index.js", "dist/worker.js"].map((f) => path.join(workspaceDir, f)).filter((f) => existsSync(f));
}

/** `name@version` of the npm package a traced file (relative to the root) belongs to, if any. */
function packageOf(file: string): string | undefined {
  const posix = file.split(path.sep).join("/");
  const at = posix.lastIndexOf("node_modules/");
  if (at < 0) return undefined;
  const parts = posix.slice(at + "node_modules/".length).split("/");
  const name = parts[0]?.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!;
  const manifest = path.join(ROOT, posix.slice(0, at), "node_modules", name, "package.json");
  try {
    return `${name}@${(JSON.parse(readFileSync(manifest, "utf8")) as { version: string }).version}`;
  } catch {
    return name;
  }
}

/** Every string target of an `exports` map, whatever the conditions and nesting. */
function exportTargets(exports: unknown): string[] {
  if (typeof exports === "string") return [exports];
  if (Array.isArray(exports)) return exports.flatMap(exportTargets);
  if (exports && typeof exports === "object") return Object.values(exports).flatMap(exportTargets);
  return [];
}

/** Files named by the `exports` of the traced packages that the trace did not include (absolute paths). */
function missingExportTargets(fileList: Set<string>): string[] {
  const missing: string[] = [];
  for (const file of fileList) {
    if (!file.endsWith("/package.json") || !file.includes("node_modules/")) continue;
    const dir = path.dirname(file);
    let manifest: { exports?: unknown };
    try {
      manifest = JSON.parse(readFileSync(path.join(ROOT, file), "utf8")) as { exports?: unknown };
    } catch {
      continue;
    }
    for (const target of exportTargets(manifest.exports)) {
      if (!target.startsWith("./") || target.includes("*") || !/\.(c|m)?js$/.test(target)) continue;
      const rel = path.join(dir, target);
      if (!fileList.has(rel) && existsSync(path.join(ROOT, rel))) missing.push(path.join(ROOT, rel));
    }
  }
  return missing;
}

/** Options of {@link runtimeLayout}. */
export interface RuntimeLayoutOptions {
  /**
   * nft's analysis cache, shared between calls so that laying out several deployables analyses each common
   * package once (the tests do; an image build lays out one).
   */
  cache?: object;
}

/**
 * Builds the runtime layout of `workspace` (`gateway`, `subgraphs/users`) into `outDir` (emptied first). The
 * workspace must be built (`dist/index.js`).
 */
export async function runtimeLayout(workspace: string, outDir: string, options: RuntimeLayoutOptions = {}): Promise<RuntimeLayout> {
  const workspaceDir = path.resolve(ROOT, workspace);
  const rel = path.relative(ROOT, workspaceDir);
  const pkg = JSON.parse(readFileSync(path.join(workspaceDir, "package.json"), "utf8")) as { files?: string[] };
  const starts = entries(workspaceDir);
  if (starts.length === 0) throw new Error(`${rel} is not built: run \`npm run build --workspace ${rel}\` first`);

  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(path.join(outDir, rel), { recursive: true });
  writeFileSync(path.join(outDir, "package.json"), readFileSync(path.join(ROOT, "package.json")));
  cpSync(path.join(workspaceDir, "package.json"), path.join(outDir, rel, "package.json"));
  for (const entry of pkg.files ?? ["dist"]) {
    const from = path.join(workspaceDir, entry);
    if (!existsSync(from)) throw new Error(`${rel}/package.json "files" lists ${entry}, which does not exist (build or compose first)`);
    cpSync(from, path.join(outDir, rel, entry), { recursive: true });
  }

  // Unresolvable optional modules (pg-native, cloudflare:sockets...) are reported as warnings and skipped, as
  // their packages load them lazily; whether the layout really runs is what the runtime-layout test checks.
  // moduleSyncCatchall: Node 20.19+ and 22 pick an export's `module-sync` target where nft, running on Node 20,
  // would pick `require`: keep both, so the layout runs on either. nft still misses the targets of an `exports`
  // entry written as an array of alternatives (e.g. async-function's), so a second round traces every `exports`
  // target of the packages found that the first round left out.
  const cache = options.cache ?? {};
  const trace = async (inputs: string[]) =>
    (await nodeFileTrace(inputs, { base: ROOT, processCwd: workspaceDir, moduleSyncCatchall: true, cache })).fileList;
  const fileList = await trace(starts);
  for (let missing = missingExportTargets(fileList); missing.length > 0; missing = missingExportTargets(fileList)) {
    for (const file of await trace(missing)) fileList.add(file);
  }
  const packages = new Set<string>();
  let files = 0;
  for (const file of fileList) {
    // The bundle and its own folder were copied above; only dependencies come from the trace.
    if (!file.split(path.sep).includes("node_modules")) continue;
    const from = path.join(ROOT, file);
    const to = path.join(outDir, file);
    mkdirSync(path.dirname(to), { recursive: true });
    // Workspace links and npm's bin links become plain copies: the image has no monorepo to point into.
    const stat = lstatSync(from);
    if (stat.isDirectory()) continue;
    cpSync(stat.isSymbolicLink() ? realpathSync(from) : from, to);
    files++;
    const name = packageOf(file);
    if (name) packages.add(name);
  }
  return { dir: outDir, workdir: path.join(outDir, rel), packages: [...packages].sort(), files };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [workspace, out] = process.argv.slice(2);
  if (!workspace || !out) {
    process.stderr.write("usage: tsx scripts/runtime-layout.ts <gateway|subgraphs/NAME> <out-dir>\n");
    process.exit(2);
  }
  runtimeLayout(workspace, path.resolve(out)).then(
    (layout) => {
      process.stdout.write(`runtime layout of ${workspace} in ${layout.dir}: ${layout.files} files, ${layout.packages.length} packages\n`);
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
