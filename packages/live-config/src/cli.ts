/**
 * `npm run config -- <command>`: read and change the live configuration.
 *
 *   get [key]                 the effective value (defaults applied) of a key, or of the whole document
 *   set <key> <value>         a new version with the value (JSON, or a plain string); validated before writing
 *   unset <key>               a new version without the key (back to its default)
 *   diff [v1] [v2]            what changed between two versions (default: the previous and the current one)
 *   history                   every version, newest first: when, who, which keys, why
 *   rollback [version]        a new version with the document of an earlier one (default: the previous one)
 *
 * Options: `-m <message>` (why, kept in the history), `--author <name>` (default: $USER).
 */
import type { z } from "zod";
import { PathError, diffDocs, getPath, type JsonValue } from "./paths.ts";
import { isLiveConfigValidationError, LiveConfigConflictError, type ConfigVersion, type LiveConfigStore } from "./store.ts";

/** Options of {@link runConfigCli}. */
export interface ConfigCliOptions<S extends z.ZodType> {
  store: LiveConfigStore<S>;
  out: Pick<NodeJS.WriteStream, "write">;
  err: Pick<NodeJS.WriteStream, "write">;
  /** Recorded as the author when `--author` is not given. @default "unknown" */
  defaultAuthor?: string;
}

const USAGE = `Usage: npm run config -- <command>
  get [key]              effective value of a key (e.g. canary.products.weight), or the whole configuration
  set <key> <value>      change a key (value is JSON: 10, true, "text", {"a":1}; a bare word is a string)
  unset <key>            remove a key (back to its default)
  diff [v1] [v2]         changes between two versions (default: previous and current)
  history                every version, newest first
  rollback [version]     restore an earlier version (default: the previous one) as a new version
Options: -m <message>  why (kept in the history);  --author <name>  who (default: $USER)
`;

const show = (value: unknown) => (value === undefined ? "(default)" : JSON.stringify(value));

/** A CLI value: JSON when it parses, else the text itself. */
function parseValue(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}

function parseVersionArg(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const cleaned = text.replace(/^v/, "");
  if (!/^\d+$/.test(cleaned)) throw new UsageError(`${name} must be a version number such as 3 or v3 (got "${text}")`);
  return Number(cleaned);
}

class UsageError extends Error {}

function describeVersion(v: ConfigVersion): string {
  return `v${v.version}  ${v.at}  ${v.author}  ${v.changed.length > 0 ? v.changed.join(", ") : "(no keys)"}${v.message ? `  "${v.message}"` : ""}`;
}

/** Runs one command; resolves with the exit code (0 done, 1 refused or failed, 2 usage error). */
export async function runConfigCli<S extends z.ZodType>(argv: readonly string[], options: ConfigCliOptions<S>): Promise<number> {
  const { store, out, err } = options;
  const args: string[] = [];
  let message: string | undefined;
  let author = options.defaultAuthor ?? "unknown";
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "-m" || arg === "--message") message = argv[++i];
    else if (arg === "--author") author = argv[++i] ?? author;
    else args.push(arg);
  }
  const [command, ...rest] = args;
  const meta = { author, ...(message === undefined ? {} : { message }) };
  try {
    switch (command) {
      case "get": {
        const current = await store.current();
        const effective = store.effective(current.doc);
        if (rest[0] === undefined) {
          out.write(`# version ${current.version}${current.version > 0 ? ` (${current.at}, ${current.author})` : " (defaults)"}\n`);
          out.write(`${JSON.stringify(effective, null, 2)}\n`);
          return 0;
        }
        const value = getPath(effective, rest[0]);
        if (value === undefined) {
          err.write(`No key ${rest[0]} in the configuration (see \`npm run config -- get\` for every key).\n`);
          return 1;
        }
        const own = getPath(current.doc, rest[0]);
        out.write(`${JSON.stringify(value, null, 2)}\n`);
        out.write(`# version ${current.version}; ${own === undefined ? "default value" : "set explicitly"}\n`);
        return 0;
      }
      case "set": {
        const [key, raw] = rest;
        if (key === undefined || raw === undefined) throw new UsageError("set needs a key and a value, e.g. set canary.products.weight 10");
        const before = getPath((await store.current()).doc, key);
        const written = await store.set(key, parseValue(raw), meta);
        out.write(`version ${written.version}: ${key}: ${show(before)} -> ${show(getPath(written.doc, key))}\n`);
        return 0;
      }
      case "unset": {
        const [key] = rest;
        if (key === undefined) throw new UsageError("unset needs a key");
        const written = await store.unset(key, meta);
        out.write(`version ${written.version}: ${key} back to its default\n`);
        return 0;
      }
      case "diff": {
        const current = await store.current();
        const to = parseVersionArg(rest[1], "v2") ?? current.version;
        const from = parseVersionArg(rest[0], "v1") ?? Math.max(0, to - 1);
        const [a, b] = await Promise.all([store.version(from), store.version(to)]);
        if (!a || !b) {
          err.write(`No version ${!a ? from : to} (the latest is ${current.version}; see \`npm run config -- history\`).\n`);
          return 1;
        }
        const changes = diffDocs(a.doc, b.doc);
        out.write(`v${from} -> v${to}: ${changes.length} change${changes.length === 1 ? "" : "s"}\n`);
        for (const c of changes) {
          if (!("before" in c)) out.write(`  + ${c.path}: ${show(c.after)}\n`);
          else if (!("after" in c)) out.write(`  - ${c.path}: ${show(c.before)}\n`);
          else out.write(`  ~ ${c.path}: ${show(c.before)} -> ${show(c.after)}\n`);
        }
        return 0;
      }
      case "history": {
        const versions = await store.history();
        if (versions.length === 0) out.write("No changes yet: the defaults are in force.\n");
        for (const v of versions) out.write(`${describeVersion(v)}\n`);
        return 0;
      }
      case "rollback": {
        const target = parseVersionArg(rest[0], "version");
        const written = await store.rollback(target, meta);
        out.write(
          `version ${written.version}: restored the document of version ${target ?? written.version - 2} (${written.changed.join(", ") || "no keys changed"})\n`,
        );
        return 0;
      }
      default:
        if (command !== undefined && command !== "help" && command !== "--help") err.write(`Unknown command "${command}".\n`);
        (command === undefined || command === "help" || command === "--help" ? out : err).write(USAGE);
        return command === undefined || command === "help" || command === "--help" ? 0 : 2;
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof PathError) {
      err.write(`${error.message}\n${USAGE}`);
      return 2;
    }
    if (isLiveConfigValidationError(error) || error instanceof LiveConfigConflictError) {
      err.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
