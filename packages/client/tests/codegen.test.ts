import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { generate } from "@graphql-codegen/cli";
import { buildSchema, parse, validate, Kind, type OperationDefinitionNode } from "graphql";
import { beforeAll, describe, expect, it } from "vitest";
import config, { GENERATED_DIR } from "../codegen.ts";

const here = (p: string) => path.join(path.dirname(GENERATED_DIR.replace(/\/$/, "")), "..", p);
const OPERATIONS_DIR = here("src/operations");

/** Generated files whose committed copy is missing or differs, plus committed files codegen no longer makes. */
function staleGeneratedFiles(
  generated: ReadonlyArray<{ filename: string; content: string }>,
  readFile: (file: string) => string | undefined,
  committed: readonly string[],
): string[] {
  const expected = new Set(generated.map((f) => path.resolve(f.filename)));
  const differing = generated.filter((f) => readFile(path.resolve(f.filename)) !== f.content).map((f) => path.resolve(f.filename));
  const leftovers = committed.map((f) => path.resolve(f)).filter((f) => !expected.has(f));
  return [...differing, ...leftovers].map((f) => path.relative(here("."), f)).sort();
}

const onDisk = (file: string) => (existsSync(file) ? readFileSync(file, "utf8") : undefined);
const committedFiles = () => readdirSync(GENERATED_DIR).map((f) => path.join(GENERATED_DIR, f));

describe("the generated client code", () => {
  let generated: Array<{ filename: string; content: string }>;
  beforeAll(async () => {
    generated = await generate({ ...config, silent: true, verbose: false }, false);
  }, 60_000);

  it("is up to date with schema.graphql and src/operations (run `npm run codegen -w @ecom/client` when this fails)", () => {
    expect(generated.map((f) => path.basename(f.filename)).sort()).toEqual(["gql.ts", "graphql.ts", "index.ts"]);
    expect(staleGeneratedFiles(generated, onDisk, committedFiles())).toEqual([]);
  });

  it("would be reported stale after a change, a deletion or a leftover file", () => {
    const graphqlTs = path.join(GENERATED_DIR, "graphql.ts");
    const edited = (file: string) =>
      file === graphqlTs ? onDisk(file)!.replace("export type MeQuery =", "export type MeQueryOld =") : onDisk(file);
    expect(staleGeneratedFiles(generated, edited, committedFiles())).toEqual(["src/__generated__/graphql.ts"]);
    const deleted = (file: string) => (file === graphqlTs ? undefined : onDisk(file));
    expect(staleGeneratedFiles(generated, deleted, committedFiles())).toEqual(["src/__generated__/graphql.ts"]);
    const leftover = path.join(GENERATED_DIR, "old-operations.ts");
    expect(staleGeneratedFiles(generated, onDisk, [...committedFiles(), leftover])).toEqual(["src/__generated__/old-operations.ts"]);
  });
});

describe("the operations of the main journeys", () => {
  const schema = buildSchema(readFileSync(here("schema.graphql"), "utf8"));
  // One document: fragments are shared across the files.
  const document = parse(
    readdirSync(OPERATIONS_DIR)
      .filter((f) => f.endsWith(".graphql"))
      .map((f) => readFileSync(path.join(OPERATIONS_DIR, f), "utf8"))
      .join("\n"),
  );

  it("validate against the client API schema", () => {
    expect(validate(schema, document).map((e) => e.message)).toEqual([]);
  });

  it("cover every journey", () => {
    const names = document.definitions
      .filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)
      .map((d) => d.name?.value);
    expect(names.sort()).toEqual([
      "Categories",
      "Login",
      "Me",
      "MyNotifications",
      "MyOrders",
      "Order",
      "PlaceOrder",
      "Product",
      "Products",
      "Register",
      "Search",
    ]);
  });

  it("would be caught selecting a field the schema does not have", () => {
    const broken = parse("query Me { me { id shoeSize } }");
    expect(validate(schema, broken).map((e) => e.message)).toEqual(['Cannot query field "shoeSize" on type "User".']);
  });
});
