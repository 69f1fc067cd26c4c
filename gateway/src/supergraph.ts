/**
 * The gateway's supergraph: reading it, the subgraphs it names, their readiness, and swapping a new one in at run
 * time ({@link createSupergraphControl}).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { SupergraphManager } from "@apollo/gateway";
import { Supergraph } from "@apollo/federation-internals";
import { QueryPlanner } from "@apollo/query-planner";
import type { Logger, Metrics, ReadinessCheck } from "@ecom/observability";
import { Kind, parse, type ConstArgumentNode } from "graphql";
import { Counter, Gauge } from "prom-client";

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

/** Why a supergraph was refused: it does not parse, or it parses but the gateway could not serve it. */
export type SupergraphRejectionReason = "unparsable" | "invalid";

/** A supergraph {@link SupergraphControl.reload} refused; the one being served is unchanged. */
export class SupergraphRejectedError extends Error {
  readonly brand = "SupergraphRejectedError" as const;
  constructor(
    readonly reason: SupergraphRejectionReason,
    /** What was wrong, as the parser or the federation library said it. */
    readonly details: string,
    /** Where the SDL came from (a file path, `registry`...), for logs. */
    readonly source: string,
  ) {
    super(`supergraph from ${source} refused (${reason}): ${details}`);
  }
}

/** True when `error` is a {@link SupergraphRejectedError}, also across module copies. */
export const isSupergraphRejectedError = (error: unknown): error is SupergraphRejectedError =>
  (error as { brand?: unknown } | null)?.brand === "SupergraphRejectedError";

/** What {@link SupergraphControl.reload} did. */
export type SupergraphReloadResult =
  { outcome: "applied"; id: string; previousId: string; subgraphs: readonly SubgraphEndpoint[] } | { outcome: "unchanged"; id: string };

/** The supergraph being served. */
export interface LoadedSupergraph {
  /** sha256 of the SDL (what Apollo Gateway calls the composition id). */
  id: string;
  sdl: string;
  /** Its subgraphs, with the URL overrides applied. */
  subgraphs: readonly SubgraphEndpoint[];
}

/** Options of {@link createSupergraphControl}. */
export interface SupergraphControlOptions {
  /** The SDL served from the start (validated like every reload). */
  initialSdl: string;
  /** URL overrides by subgraph name (SUBGRAPH_<NAME>_URL), applied to every supergraph loaded. */
  subgraphUrls?: Readonly<Record<string, string>>;
  logger: Logger;
  metrics: Metrics;
}

/**
 * The gateway's supergraph, swappable at run time. `manager` goes into `new ApolloGateway({ supergraphSdl })`;
 * {@link SupergraphControl.reload} is the one way a new supergraph gets in (the file watcher calls it; a registry
 * will, later).
 */
export interface SupergraphControl {
  /** Apollo Gateway's supergraph manager: hands over the initial SDL and keeps the `update` callback. */
  readonly manager: SupergraphManager;
  /** What is served now. */
  current(): LoadedSupergraph;
  /**
   * Validates `sdl` as a supergraph the gateway can serve (it parses, it is a valid supergraph, its API schema
   * builds, the query planner accepts it, every subgraph has a URL) and swaps it in. Requests in flight finish on
   * the supergraph they started with (Apollo Server keeps the schema of a running request); new ones get the new
   * one. An SDL identical to the current one changes nothing. Logs and counts every outcome
   * (`gateway_supergraph_reloads_total{outcome}`).
   * @param source where the SDL came from, for logs (a file path, `registry`...). @default "reload"
   * @throws SupergraphRejectedError when `sdl` cannot be served: the current supergraph keeps serving.
   */
  reload(sdl: string, source?: string): Promise<SupergraphReloadResult>;
  /** Calls `listener` after each applied reload; returns an unsubscribe function. */
  onChange(listener: (loaded: LoadedSupergraph) => void): () => void;
}

const sdlId = (sdl: string) => createHash("sha256").update(sdl).digest("hex");

/**
 * Everything Apollo Gateway does with a new supergraph SDL, done beforehand so that a bad one is refused before the
 * gateway starts swapping (its `update` assigns part of its state before the query planner is built).
 */
function validateSupergraph(sdl: string, source: string, subgraphUrls: Readonly<Record<string, string>>): SubgraphEndpoint[] {
  try {
    parse(sdl);
  } catch (error) {
    throw new SupergraphRejectedError("unparsable", (error as Error).message, source);
  }
  let subgraphs: SubgraphEndpoint[];
  try {
    const supergraph = Supergraph.build(sdl, { validateSupergraph: true });
    supergraph.apiSchema();
    new QueryPlanner(supergraph);
    subgraphs = supergraph.subgraphsMetadata().map((s) => ({ name: s.name, url: subgraphUrls[s.name] ?? s.url }));
  } catch (error) {
    const details = error instanceof Error ? error.message : String(error);
    throw new SupergraphRejectedError("invalid", details.split("\n").slice(0, 5).join(" "), source);
  }
  const missing = subgraphs.filter((s) => !s.url).map((s) => s.name);
  if (missing.length > 0) throw new SupergraphRejectedError("invalid", `subgraph(s) without a URL: ${missing.join(", ")}`, source);
  return subgraphs;
}

/**
 * The supergraph control of one gateway.
 * @throws SupergraphRejectedError when `initialSdl` cannot be served (the gateway must not start on it).
 */
export function createSupergraphControl(options: SupergraphControlOptions): SupergraphControl {
  const overrides = options.subgraphUrls ?? {};
  const logger = options.logger.child({ component: "supergraph" });
  // Get-or-create: gateway instances that share a registry (a call path kept across a restart in one process,
  // as in the tests) share these series rather than failing to register them twice.
  const registry = options.metrics.registry;
  const reloads =
    (registry.getSingleMetric("gateway_supergraph_reloads_total") as Counter<"outcome"> | undefined) ??
    new Counter({
      name: "gateway_supergraph_reloads_total",
      help: "Supergraph reloads by outcome: applied, unchanged, rejected.",
      labelNames: ["outcome"],
      registers: [registry],
    });
  const loadedAt =
    (registry.getSingleMetric("gateway_supergraph_loaded_timestamp_seconds") as Gauge | undefined) ??
    new Gauge({
      name: "gateway_supergraph_loaded_timestamp_seconds",
      help: "When the supergraph being served was loaded (Unix time).",
      registers: [registry],
    });
  let loaded: LoadedSupergraph = {
    id: sdlId(options.initialSdl),
    sdl: options.initialSdl,
    subgraphs: validateSupergraph(options.initialSdl, "initial supergraph", overrides),
  };
  loadedAt.setToCurrentTime();
  let update: ((sdl: string) => void) | undefined;
  const listeners = new Set<(loaded: LoadedSupergraph) => void>();

  return {
    manager: {
      initialize: async (hooks) => {
        update = hooks.update;
        return {
          supergraphSdl: loaded.sdl,
          cleanup: async () => {
            update = undefined;
          },
        };
      },
    },
    current: () => loaded,
    async reload(sdl, source = "reload") {
      const id = sdlId(sdl);
      if (id === loaded.id) {
        reloads.inc({ outcome: "unchanged" });
        logger.debug({ source, id }, "supergraph unchanged");
        return { outcome: "unchanged", id };
      }
      try {
        if (!update) throw new SupergraphRejectedError("invalid", "the gateway is not running (not started yet, or stopped)", source);
        const subgraphs = validateSupergraph(sdl, source, overrides);
        update(sdl);
        const previousId = loaded.id;
        loaded = { id, sdl, subgraphs };
        loadedAt.setToCurrentTime();
        reloads.inc({ outcome: "applied" });
        logger.info({ source, id, previousId, subgraphs: subgraphs.map((s) => s.name) }, "supergraph reloaded");
        for (const listener of listeners) listener(loaded);
        return { outcome: "applied", id, previousId, subgraphs };
      } catch (error) {
        reloads.inc({ outcome: "rejected" });
        const rejected = isSupergraphRejectedError(error)
          ? error
          : new SupergraphRejectedError("invalid", error instanceof Error ? error.message : String(error), source);
        logger.error(
          { source, reason: rejected.reason, details: rejected.details, servingId: loaded.id },
          `supergraph refused (${rejected.reason}); still serving the previous one`,
        );
        throw rejected;
      }
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
