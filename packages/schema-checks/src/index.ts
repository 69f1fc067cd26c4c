/**
 * Schema checks without a hosted registry: compose subgraph SDLs in-process (as `npm run compose` does) and classify
 * the differences between two client-facing schemas as breaking, dangerous or safe with `@graphql-inspector/core`.
 * Used by `npm run schema:check` (against the last released schema kept in the repository) and by the gateway
 * before it swaps in a supergraph recomposed from the registry (against the schema it serves).
 */
import { composeServices } from "@apollo/composition";
import { CriticalityLevel, diff, type Change } from "@graphql-inspector/core";
import { buildSchema, parse, printSchema, type GraphQLError } from "graphql";

/** One difference between two client-facing schemas. */
export interface SchemaChange {
  /** graphql-inspector's change type, e.g. `FIELD_REMOVED`, `FIELD_ARGUMENT_TYPE_CHANGED`. */
  type: string;
  level: "breaking" | "dangerous" | "safe";
  message: string;
  /** Schema coordinate, e.g. `Query.products.first`. */
  path: string | undefined;
  /** Why it is breaking or dangerous (inspector's explanation). */
  reason: string | undefined;
}

function levelOf(change: Change): SchemaChange["level"] {
  switch (change.criticality.level) {
    case CriticalityLevel.Breaking:
      return "breaking";
    case CriticalityLevel.Dangerous:
      return "dangerous";
    case CriticalityLevel.NonBreaking:
      return "safe";
    default: {
      const never: never = change.criticality.level;
      return never;
    }
  }
}

/** The changes from `before` to `after` (both client-facing SDL), breaking first. */
export async function compareSchemas(before: string, after: string): Promise<SchemaChange[]> {
  const changes = await diff(buildSchema(before), buildSchema(after));
  const order = { breaking: 0, dangerous: 1, safe: 2 } as const;
  return changes
    .map((c) => ({ type: c.type, level: levelOf(c), message: c.message, path: c.path, reason: c.criticality.reason }))
    .sort((a, b) => order[a.level] - order[b.level] || (a.path ?? "").localeCompare(b.path ?? ""));
}

/** What the "## Unreleased" section of a schema changelog acknowledges: every `` `coordinate` `` it names. */
export function acknowledgedCoordinates(changelog: string): Set<string> {
  const section = /^## Unreleased[^\n]*\n([\s\S]*?)(?=^## |$(?![\s\S]))/m.exec(changelog)?.[1] ?? "";
  return new Set([...section.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!.trim()));
}

/** The breaking changes the changelog does not acknowledge (by coordinate, or by change type when it has none). */
export function unacknowledgedBreakingChanges(changes: readonly SchemaChange[], changelog: string): SchemaChange[] {
  const acknowledged = acknowledgedCoordinates(changelog);
  return changes.filter((c) => c.level === "breaking" && !acknowledged.has(c.path ?? c.type));
}

/** One subgraph SDL to compose. */
export interface SubgraphSdl {
  name: string;
  url: string;
  sdl: string;
}

/** What {@link composeSubgraphSchemas} returns. */
export type CompositionOutcome = { ok: true; supergraphSdl: string; apiSchemaSdl: string } | { ok: false; errors: string[] };

/** `[CODE] message` of a composition error. */
export function formatCompositionError(error: GraphQLError): string {
  const code = typeof error.extensions["code"] === "string" ? error.extensions["code"] : "COMPOSITION_ERROR";
  return `[${code}] ${error.message}`;
}

/** Composes subgraph SDLs in-process (`composeServices`; no rover binary); errors one readable line each. */
export function composeSubgraphSchemas(subgraphs: readonly SubgraphSdl[]): CompositionOutcome {
  let typeDefs;
  try {
    typeDefs = subgraphs.map((s) => ({ name: s.name, url: s.url, typeDefs: parse(s.sdl) }));
  } catch (error) {
    return { ok: false, errors: [`[INVALID_GRAPHQL] ${(error as Error).message}`] };
  }
  const result = composeServices(typeDefs);
  if (result.errors) return { ok: false, errors: result.errors.map(formatCompositionError) };
  return { ok: true, supergraphSdl: result.supergraphSdl, apiSchemaSdl: printSchema(result.schema.toAPISchema().toGraphQLJSSchema()) };
}
