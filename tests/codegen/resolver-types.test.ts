import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { generate } from "@graphql-codegen/cli";
import type { CodegenConfig } from "@graphql-codegen/cli";
import { beforeAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");
const subgraphs = readdirSync(path.join(ROOT, "subgraphs")).filter((d) => existsSync(path.join(ROOT, "subgraphs", d, "codegen.ts")));

/** Files whose committed copy is missing or differs from what codegen makes now (paths relative to the repo). */
function staleFiles(
  generated: ReadonlyArray<{ filename: string; content: string }>,
  readFile: (file: string) => string | undefined,
): string[] {
  return generated.filter((f) => readFile(f.filename) !== f.content).map((f) => path.relative(ROOT, f.filename));
}

const onDisk = (file: string) => (existsSync(file) ? readFileSync(file, "utf8") : undefined);

async function generateFor(subgraph: string): Promise<Array<{ filename: string; content: string }>> {
  const dir = path.join(ROOT, "subgraphs", subgraph);
  const config = ((await import(path.join(dir, "codegen.ts"))) as { default: CodegenConfig }).default;
  const out = await generate({ ...config, cwd: dir, silent: true, verbose: false }, false);
  return (out as Array<{ filename: string; content: string }>).map((f) => ({ ...f, filename: path.resolve(dir, f.filename) }));
}

describe("subgraph resolver types (src/__generated__/resolvers-types.ts)", () => {
  const generated = new Map<string, Array<{ filename: string; content: string }>>();
  beforeAll(async () => {
    for (const s of subgraphs) generated.set(s, await generateFor(s));
  }, 120_000);

  it("exist for all seven subgraphs", () => {
    expect(subgraphs.sort()).toEqual(["inventory", "notifications", "orders", "payments", "products", "search", "users"]);
  });

  it.each(subgraphs)("are up to date with %s's schema.graphql (run `npm run codegen` when this fails)", (s) => {
    const files = generated.get(s)!;
    expect(files.map((f) => path.relative(ROOT, f.filename))).toEqual([`subgraphs/${s}/src/__generated__/resolvers-types.ts`]);
    expect(staleFiles(files, onDisk)).toEqual([]);
  });

  it("would be reported stale after a schema change", async () => {
    const dir = path.join(ROOT, "subgraphs", "users");
    const config = ((await import(path.join(dir, "codegen.ts"))) as { default: CodegenConfig }).default;
    const sdl = readFileSync(path.join(dir, "src", "schema.graphql"), "utf8").replace("  role: Role!", "  role: Role!\n  nickname: String");
    expect(sdl).toContain("nickname: String");
    const out = (await generate({ ...config, schema: sdl, cwd: dir, silent: true, verbose: false }, false)) as Array<{
      filename: string;
      content: string;
    }>;
    const changed = out.map((f) => ({ ...f, filename: path.resolve(dir, f.filename) }));
    expect(staleFiles(changed, onDisk)).toEqual(["subgraphs/users/src/__generated__/resolvers-types.ts"]);
    // A deleted file is stale too.
    expect(staleFiles(generated.get("users")!, () => undefined)).toEqual(["subgraphs/users/src/__generated__/resolvers-types.ts"]);
  });
});
