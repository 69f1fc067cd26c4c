import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse } from "graphql";
import { afterEach, describe, expect, it } from "vitest";
import {
  OUTPUT_PATHS,
  ROOT_DIR,
  composeSupergraph,
  main,
  outputFiles,
  readRootFile,
  readSubgraphSources,
  staleFiles,
} from "../scripts/compose.ts";

const FED = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable"])`;

function captured() {
  let text = "";
  return { write: (s: string) => ((text += s), true), text: () => text };
}

const tmpRoots: string[] = [];
afterEach(() => {
  for (const dir of tmpRoots.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A scratch repository root with the given subgraph schemas and the two output folders. */
function scratchRoot(schemas: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), "compose-test-"));
  tmpRoots.push(root);
  for (const [name, sdl] of Object.entries(schemas)) {
    mkdirSync(path.join(root, "subgraphs", name, "src"), { recursive: true });
    writeFileSync(path.join(root, "subgraphs", name, "src", "schema.graphql"), sdl);
  }
  mkdirSync(path.join(root, "gateway"), { recursive: true });
  mkdirSync(path.join(root, "packages", "client"), { recursive: true });
  return root;
}

describe("the checked-in supergraph", () => {
  it("composes from the subgraph schemas of the repository", () => {
    const sources = readSubgraphSources();
    expect(sources.map((s) => s.name)).toContain("users");
    const result = composeSupergraph(sources);
    if (!result.ok) throw new Error(`composition failed:\n${result.errors.join("\n")}`);
    expect(result.supergraphSdl).toContain('@join__graph(name: "users", url: "http://localhost:4001/graphql")');
  });

  it("is up to date with the subgraph schemas (run `npm run compose` when this fails)", () => {
    const result = composeSupergraph(readSubgraphSources());
    if (!result.ok) throw new Error(result.errors.join("\n"));
    expect(staleFiles(outputFiles(result), readRootFile(ROOT_DIR))).toEqual([]);
  });

  it("reports a copy that no longer matches as stale, naming the file", () => {
    const result = composeSupergraph(readSubgraphSources());
    if (!result.ok) throw new Error(result.errors.join("\n"));
    const files = outputFiles(result);
    const onDisk = readRootFile(ROOT_DIR);
    const mutated = (p: string) =>
      p === OUTPUT_PATHS.apiSchema ? onDisk(p)!.replace("type Query {", "type Query {\n  removedLater: Int") : onDisk(p);
    expect(staleFiles(files, mutated)).toEqual([OUTPUT_PATHS.apiSchema]);
    expect(staleFiles(files, () => undefined)).toEqual([OUTPUT_PATHS.supergraph, OUTPUT_PATHS.apiSchema]);
  });

  it("does not count formatting or comments as staleness", () => {
    const result = composeSupergraph(readSubgraphSources());
    if (!result.ok) throw new Error(result.errors.join("\n"));
    const files = outputFiles(result);
    const reformatted = (p: string) => `# a comment\n\n${files.find((f) => f.path === p)!.content.replace(/\n\n/g, "\n\n\n")}`;
    expect(staleFiles(files, reformatted)).toEqual([]);
  });

  it("exposes no federation machinery in the client schema", () => {
    const api = readFileSync(path.join(ROOT_DIR, OUTPUT_PATHS.apiSchema), "utf8");
    expect(api).not.toMatch(/join__|link__|_entities|_service|@key/);
    expect(() => parse(api)).not.toThrow();
  });
});

describe("composition errors", () => {
  const users = `${FED}\ntype User @key(fields: "id") { id: ID! name: String! }\ntype Query { me: User }`;
  // `name` is defined by both subgraphs without @shareable: a classic composition error.
  const conflicting = `${FED}\ntype User @key(fields: "id") { id: ID! name: String! }\ntype Query { product: Int }`;

  it("fails with a readable, coded message for a non-shareable field defined twice", () => {
    const result = composeSupergraph([
      { name: "users", url: "http://localhost:4001/graphql", typeDefs: parse(users) },
      { name: "products", url: "http://localhost:4002/graphql", typeDefs: parse(conflicting) },
    ]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.join("\n")).toMatch(
      /^\[INVALID_FIELD_SHARING\] Non-shareable field "User\.name" is resolved from multiple subgraphs/m,
    );
  });

  it("makes the CLI print the errors and exit 1, writing nothing", async () => {
    const root = scratchRoot({ users, products: conflicting });
    const out = captured();
    const err = captured();
    expect(await main([], root, out, err)).toBe(1);
    expect(err.text()).toContain("Composition failed (1 error) for users, products:");
    expect(err.text()).toContain('[INVALID_FIELD_SHARING] Non-shareable field "User.name"');
    expect(readRootFile(root)(OUTPUT_PATHS.supergraph)).toBeUndefined();
  });

  it("names an SDL that does not parse and a subgraph folder missing from the port table", async () => {
    const root = scratchRoot({ users: "type Query {", unknownthing: users });
    const err = captured();
    expect(await main([], root, captured(), err)).toBe(1);
    expect(err.text()).toContain(path.join("subgraphs", "users", "src", "schema.graphql"));
    expect(err.text()).toContain('subgraph "unknownthing" has no port');
  });
});

describe("the CLI", () => {
  it("writes both files, then --check passes until a file goes stale", async () => {
    const users = `${FED}\ntype User @key(fields: "id") { id: ID! name: String! }\ntype Query { me: User }`;
    const root = scratchRoot({ users });
    const err = captured();
    expect(await main(["--check"], root, captured(), err)).toBe(1);
    expect(err.text()).toContain(OUTPUT_PATHS.supergraph);
    expect(err.text()).toContain(OUTPUT_PATHS.apiSchema);

    const out = captured();
    expect(await main([], root, out, captured())).toBe(0);
    expect(out.text()).toContain("Composed 1 subgraph (users)");
    expect(await main(["--check"], root, captured(), captured())).toBe(0);

    // A subgraph adds a field: the checked-in client schema is now stale.
    writeFileSync(path.join(root, "subgraphs/users/src/schema.graphql"), users.replace("name: String!", "name: String! email: String"));
    const stale = captured();
    expect(await main(["--check"], root, captured(), stale)).toBe(1);
    expect(stale.text()).toContain(OUTPUT_PATHS.apiSchema);
  });
});
