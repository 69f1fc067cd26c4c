/**
 * graphql-codegen for the typed client: the API schema (`npm run compose` writes schema.graphql) and the
 * operations in src/operations -> src/__generated__ (committed; a test fails when it is stale).
 * Run with `npm run codegen -w @ecom/client`. Paths are absolute so the config works from any directory.
 */
import { fileURLToPath } from "node:url";
import type { CodegenConfig } from "@graphql-codegen/cli";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/** Where the generated files go. */
export const GENERATED_DIR = here("./src/__generated__/");

const config: CodegenConfig = {
  schema: here("./schema.graphql"),
  documents: [here("./src/operations/*.graphql")],
  ignoreNoDocuments: false,
  generates: {
    [GENERATED_DIR]: {
      preset: "client",
      // Plain data types (no fragment masking): callers read fields directly.
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        strictScalars: true,
        scalars: { DateTime: "string" },
        avoidOptionals: { field: true, inputValue: false, object: true, defaultValue: false },
        skipTypename: true,
        dedupeFragments: true,
      },
    },
  },
};

export default config;
