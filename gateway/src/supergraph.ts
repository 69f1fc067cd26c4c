import { readFileSync } from "node:fs";
import path from "node:path";
import type { ReadinessCheck } from "@ecom/observability";
import { Kind, parse, type ConstArgumentNode } from "graphql";

/** A subgraph as the supergraph names it. */
export interface SubgraphEndpoint {
  name: string;
  url: string;
}

/** Reads the supergraph SDL (a relative path is resolved from the working directory). */
export function readSupergraph(file: string): string {
  const resolved = path.resolve(file);
  try {
    return readFileSync(resolved, "utf8");
  } catch (error) {
    throw new Error(
      `Cannot read the supergraph at ${resolved} (${(error as Error).message}): run \`npm run compose\` or set SUPERGRAPH_PATH.`,
      {
        cause: error,
      },
    );
  }
}

/** The subgraphs of a supergraph SDL (the `@join__graph(name, url)` values of `enum join__Graph`). */
export function subgraphsOf(supergraphSdl: string): SubgraphEndpoint[] {
  const result: SubgraphEndpoint[] = [];
  for (const definition of parse(supergraphSdl).definitions) {
    if (definition.kind !== Kind.ENUM_TYPE_DEFINITION || definition.name.value !== "join__Graph") continue;
    for (const value of definition.values ?? []) {
      const args = value.directives?.find((d) => d.name.value === "join__graph")?.arguments ?? [];
      const text = (name: string) => {
        const arg = args.find((a: ConstArgumentNode) => a.name.value === name)?.value;
        return arg?.kind === Kind.STRING ? arg.value : undefined;
      };
      const name = text("name");
      const url = text("url");
      if (name && url) result.push({ name, url });
    }
  }
  return result;
}

/**
 * Readiness of one subgraph: its `/health/live` answers 2xx, or (for a subgraph without health routes) its
 * GraphQL endpoint answers `{ __typename }`. The subgraph's liveness, not its readiness: a subgraph whose
 * database is down still answers, and its own readiness already takes it out of rotation.
 */
export function subgraphReadinessCheck(subgraph: SubgraphEndpoint, timeoutMs = 2000): ReadinessCheck {
  return {
    name: `subgraph:${subgraph.name}`,
    check: async () => {
      const signal = AbortSignal.timeout(timeoutMs);
      const live = await fetch(new URL("/health/live", subgraph.url), { signal }).catch(() => undefined);
      if (live?.ok) return;
      let res: Response;
      try {
        res = await fetch(subgraph.url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query: "{ __typename }" }),
          signal,
        });
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause;
        throw new Error(`${subgraph.url} unreachable (${cause?.code ?? (error as Error).message})`, { cause: error });
      }
      const body = (await res.json().catch(() => null)) as { data?: { __typename?: string } } | null;
      if (!res.ok || body?.data?.__typename !== "Query") throw new Error(`${subgraph.url} answered HTTP ${res.status}`);
    },
  };
}
