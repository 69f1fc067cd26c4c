/**
 * `npm run schema:check`: composes the subgraph schemas (as `npm run compose` does) and compares the client-facing
 * schema with the last released one, `docs/schema/released.graphql`, listing every change as breaking, dangerous
 * or safe (graphql-inspector). Exits 1 on a breaking change that `docs/schema/CHANGELOG.md` does not acknowledge
 * under `## Unreleased` by naming its coordinate in backticks (e.g. `` `Product.legacyCode` ``), so a client-breaking
 * change is always a decision someone wrote down, never an accident. `npm test` runs it (tests/schema-check.test.ts).
 *
 * `npm run schema:check -- --release <name>` records a release: the current schema becomes the released one and the
 * Unreleased section of the changelog is filed under `## <name> (<date>)`.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import * as prettier from "prettier";
import { compareSchemas, unacknowledgedBreakingChanges, type SchemaChange } from "@ecom/schema-checks";
import { ROOT_DIR, composeSupergraph, readRootFile, readSubgraphSources } from "./compose.ts";

/** Where the released schema and the changelog live, relative to the root. */
export const SCHEMA_CHECK_PATHS = {
  released: "docs/schema/released.graphql",
  changelog: "docs/schema/CHANGELOG.md",
} as const;

const RELEASED_HEADER = "# The client-facing schema of the last release: written by `npm run schema:check -- --release <name>`.\n";

function line(change: SchemaChange, acknowledged: boolean): string {
  const label = { breaking: "BREAKING ", dangerous: "DANGEROUS", safe: "safe     " }[change.level];
  const note = change.level === "breaking" ? (acknowledged ? "  (acknowledged in the changelog)" : "  (NOT acknowledged)") : "";
  return `  ${label}  ${change.type.padEnd(34)} ${change.path ?? "(schema)"}: ${change.message}${note}`;
}

/** The CLI. Resolves with the exit code. */
export async function main(
  argv: readonly string[],
  root = ROOT_DIR,
  out: Pick<NodeJS.WriteStream, "write"> = process.stdout,
  err: Pick<NodeJS.WriteStream, "write"> = process.stderr,
): Promise<number> {
  let composed;
  try {
    composed = composeSupergraph(readSubgraphSources(root));
  } catch (error) {
    err.write(`Cannot read the subgraph schemas:\n  ${(error as Error).message}\n`);
    return 1;
  }
  if (!composed.ok) {
    err.write(
      `Composition failed, nothing to compare (fix these first, \`npm run compose\` shows the same):\n  ${composed.errors.join("\n  ")}\n`,
    );
    return 1;
  }
  const read = readRootFile(root);
  const releaseIndex = argv.indexOf("--release");
  if (releaseIndex !== -1) {
    const name = argv[releaseIndex + 1];
    if (!name || name.startsWith("-")) {
      err.write("--release needs a name, e.g. npm run schema:check -- --release 1.4.0\n");
      return 2;
    }
    const changelog = read(SCHEMA_CHECK_PATHS.changelog) ?? "# Client schema changelog\n\n## Unreleased\n";
    const date = new Date().toISOString().slice(0, 10);
    const releasedFile = path.join(root, SCHEMA_CHECK_PATHS.released);
    const sdl = RELEASED_HEADER + composed.apiSchemaSdl.replace(/^#[^\n]*\n/, "");
    // Formatted as `npm run format` would, so CI's formatting check agrees with the file.
    writeFileSync(
      releasedFile,
      await prettier.format(sdl, { ...((await prettier.resolveConfig(releasedFile)) ?? {}), filepath: releasedFile }),
    );
    writeFileSync(
      path.join(root, SCHEMA_CHECK_PATHS.changelog),
      changelog.replace(/^## Unreleased[^\n]*$/m, `## Unreleased\n\n## ${name} (${date})`),
    );
    out.write(
      `Released the client schema as ${name}: wrote ${SCHEMA_CHECK_PATHS.released} and filed the changelog's Unreleased section.\n`,
    );
    return 0;
  }

  const released = read(SCHEMA_CHECK_PATHS.released);
  if (released === undefined) {
    err.write(
      `No released schema at ${SCHEMA_CHECK_PATHS.released}: record the first release with \`npm run schema:check -- --release <name>\`.\n`,
    );
    return 1;
  }
  const changes = await compareSchemas(released, composed.apiSchemaSdl);
  const changelog = read(SCHEMA_CHECK_PATHS.changelog) ?? "";
  const missing = new Set(unacknowledgedBreakingChanges(changes, changelog));
  const count = (level: SchemaChange["level"]) => changes.filter((c) => c.level === level).length;
  out.write(
    `Client schema vs the last release (${SCHEMA_CHECK_PATHS.released}): ${count("breaking")} breaking, ${count("dangerous")} dangerous, ${count("safe")} safe\n`,
  );
  for (const change of changes) out.write(`${line(change, !missing.has(change))}\n`);
  if (missing.size > 0) {
    err.write(
      `\n${missing.size} breaking change${missing.size === 1 ? "" : "s"} not acknowledged. Existing clients' operations would fail.\n` +
        `Either keep the old shape (deprecate with @deprecated instead of removing; add optional arguments instead of changing types),\n` +
        `or acknowledge each in ${SCHEMA_CHECK_PATHS.changelog} under "## Unreleased", naming it in backticks with the reason, e.g.:\n` +
        [...missing].map((c) => `  - \`${c.path ?? c.type}\`: ${c.message} (why, and what clients must do)`).join("\n") +
        "\n",
    );
    return 1;
  }
  out.write(changes.length === 0 ? "No changes since the last release.\n" : "No unacknowledged breaking change.\n");
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
