import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { acknowledgedCoordinates, compareSchemas, composeSubgraphSchemas } from "@ecom/schema-checks";
import { afterEach, describe, expect, it } from "vitest";
import { SCHEMA_CHECK_PATHS, main } from "../scripts/schema-check.ts";

const FED = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable"])`;
const PRODUCTS = `${FED}
type Product @key(fields: "id") { id: ID! name: String! legacyCode: String }
type Query { products(first: Int): [Product!]! }`;

function captured() {
  let text = "";
  return { write: (s: string) => ((text += s), true), text: () => text };
}

const roots: string[] = [];
afterEach(() => {
  for (const dir of roots.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A scratch repository with one subgraph released as `released`, now changed to `now`. */
async function scratch(released: string, now: string, changelog = "# Client schema changelog\n\n## Unreleased\n") {
  const root = mkdtempSync(path.join(tmpdir(), "schema-check-"));
  roots.push(root);
  mkdirSync(path.join(root, "subgraphs", "products", "src"), { recursive: true });
  mkdirSync(path.join(root, "docs", "schema"), { recursive: true });
  const schemaFile = path.join(root, "subgraphs", "products", "src", "schema.graphql");
  writeFileSync(schemaFile, released);
  writeFileSync(path.join(root, SCHEMA_CHECK_PATHS.changelog), changelog);
  expect(await main(["--release", "1.0.0"], root, captured(), captured())).toBe(0);
  writeFileSync(schemaFile, now);
  if (changelog) writeFileSync(path.join(root, SCHEMA_CHECK_PATHS.changelog), changelog);
  return root;
}

async function check(root: string) {
  const out = captured();
  const err = captured();
  const code = await main([], root, out, err);
  return { code, out: out.text(), err: err.text() };
}

describe("npm run schema:check", () => {
  it("fails on a removed field, naming it as breaking and how to fix it", async () => {
    const root = await scratch(PRODUCTS, PRODUCTS.replace(" legacyCode: String", ""));
    const result = await check(root);
    expect(result.code).toBe(1);
    expect(result.out).toContain("1 breaking, 0 dangerous, 0 safe");
    expect(result.out).toMatch(/BREAKING\s+FIELD_REMOVED\s+Product\.legacyCode: Field 'legacyCode' was removed .*\(NOT acknowledged\)/);
    expect(result.err).toContain("1 breaking change not acknowledged");
    expect(result.err).toContain("- `Product.legacyCode`:");
  });

  it("fails on a changed argument type", async () => {
    const root = await scratch(PRODUCTS, PRODUCTS.replace("products(first: Int)", "products(first: String)"));
    const result = await check(root);
    expect(result.code).toBe(1);
    expect(result.out).toMatch(/BREAKING\s+FIELD_ARGUMENT_TYPE_CHANGED\s+Query\.products\.first: .*'Int' to 'String'/);
  });

  it("passes on an added field, listing it as safe", async () => {
    const root = await scratch(PRODUCTS, PRODUCTS.replace("name: String!", "name: String! description: String"));
    const result = await check(root);
    expect(result).toMatchObject({ code: 0, err: "" });
    expect(result.out).toContain("0 breaking, 0 dangerous, 1 safe");
    expect(result.out).toMatch(/safe\s+FIELD_ADDED\s+Product\.description/);
  });

  it("passes on a breaking change the changelog acknowledges under Unreleased, and only there", async () => {
    const removed = PRODUCTS.replace(" legacyCode: String", "");
    const acknowledged = "# Changelog\n\n## Unreleased\n\n- `Product.legacyCode`: removed, use `Product.sku`.\n\n## 1.0.0\n";
    const ok = await check(await scratch(PRODUCTS, removed, acknowledged));
    expect(ok.code).toBe(0);
    expect(ok.out).toContain("(acknowledged in the changelog)");
    // Named only under an older release: that acknowledgement was for another change.
    const stale = "# Changelog\n\n## Unreleased\n\n## 0.9.0\n\n- `Product.legacyCode`: added.\n";
    expect((await check(await scratch(PRODUCTS, removed, stale))).code).toBe(1);
  });

  it("lists a dangerous change without failing", async () => {
    const withEnum = `${PRODUCTS}\nenum Color { RED }\nextend type Product { color: Color }`;
    const result = await check(await scratch(withEnum, withEnum.replace("enum Color { RED }", "enum Color { RED BLUE }")));
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/DANGEROUS\s+ENUM_VALUE_ADDED\s+Color\.BLUE/);
  });

  it("release files the Unreleased section and makes the current schema the baseline", async () => {
    const root = await scratch(
      PRODUCTS,
      PRODUCTS.replace(" legacyCode: String", ""),
      "# C\n\n## Unreleased\n\n- `Product.legacyCode`: gone.\n",
    );
    expect(await main(["--release", "1.1.0"], root, captured(), captured())).toBe(0);
    const changelog = readFileSync(path.join(root, SCHEMA_CHECK_PATHS.changelog), "utf8");
    expect(changelog).toMatch(/## Unreleased\n\n## 1\.1\.0 \(\d{4}-\d\d-\d\d\)\n\n- `Product\.legacyCode`: gone\./);
    expect(acknowledgedCoordinates(changelog).size).toBe(0);
    expect(await check(root)).toMatchObject({ code: 0 });
  });

  it("passes for the repository: no unacknowledged breaking change since the last release (CI gate)", async () => {
    const result = await check(path.resolve(import.meta.dirname, ".."));
    if (result.code !== 0) throw new Error(`${result.out}\n${result.err}`);
    expect(result.out).toContain("Client schema vs the last release");
  });
});

describe("the schema checks package", () => {
  it("composes subgraph SDLs in-process and reports composition errors by code", () => {
    const ok = composeSubgraphSchemas([{ name: "products", url: "http://localhost:4002/graphql", sdl: PRODUCTS }]);
    expect(ok.ok && ok.apiSchemaSdl).toContain("legacyCode: String");
    const clash = `${FED}\ntype Product @key(fields: "id") { id: ID! name: String! }\ntype Query { other: Int }`;
    const failed = composeSubgraphSchemas([
      { name: "products", url: "http://a/graphql", sdl: PRODUCTS },
      { name: "search", url: "http://b/graphql", sdl: clash },
    ]);
    expect(failed.ok).toBe(false);
    expect(!failed.ok && failed.errors.join("\n")).toMatch(/\[INVALID_FIELD_SHARING\]/);
    expect(composeSubgraphSchemas([{ name: "x", url: "http://a/graphql", sdl: "type Query {" }])).toMatchObject({ ok: false });
  });

  it("orders changes breaking first", async () => {
    const changes = await compareSchemas("type Query { a: Int b: Int }", "type Query { a: Int c: Int }");
    expect(changes.map((c) => [c.level, c.path])).toEqual([
      ["breaking", "Query.b"],
      ["safe", "Query.c"],
    ]);
  });
});
