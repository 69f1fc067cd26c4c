/**
 * Schema changes without a restart: when the registry shows a subgraph instance with a schema version the served
 * supergraph was not composed from, the gateway composes a new supergraph in-process (as `npm run compose` does)
 * from the newest registered schema of every subgraph, checks the new client-facing schema against the one it
 * serves (graphql-inspector, as `npm run schema:check` does), and swaps it in with `supergraph.reload()`.
 *
 * Refused (logged, counted, nothing changes): a schema that does not compose with the others, or whose client
 * schema would break clients (a removed field, a changed argument type...). Instances get traffic only once their
 * schema version is part of the served supergraph (until then, and forever when refused, they could not be trusted
 * to answer what the served schema promises); a subgraph with no such instance yet (at boot) uses the others.
 *
 * A subgraph with no registered instance keeps the schema extracted from the served supergraph.
 */
import { Supergraph } from "@apollo/federation-internals";
import type { InstanceRecord, RegistryWatcher } from "@ecom/discovery";
import type { Logger, Metrics } from "@ecom/observability";
import { compareSchemas, composeSubgraphSchemas } from "@ecom/schema-checks";
import { Kind, parse, print, printSchema, type DefinitionNode } from "graphql";
import { Counter } from "prom-client";
import type { SupergraphControl } from "./supergraph.ts";

/** Options of {@link createRegistryRecomposer}. */
export interface RegistryRecomposerOptions {
  watcher: RegistryWatcher;
  supergraph: SupergraphControl;
  logger: Logger;
  metrics: Metrics;
  /**
   * Changes arriving within this window are composed together (a deployment registers several instances at once).
   * @default 100
   */
  debounceMs?: number;
}

/** See the module comment. */
export interface RegistryRecomposer {
  /** Whether instances serving this schema version must get no traffic (it was refused). */
  isRefused(service: string, schemaVersion: string): boolean;
  /** The instances of `service` that may get traffic. */
  servable(service: string): InstanceRecord[];
  /** Recomposes now if the registry shows new schema versions; resolves when done. */
  recompose(): Promise<void>;
  /** Calls `listener` when the servable instances of a subgraph may have changed (a version accepted or refused). */
  onServableChange(listener: (service: string) => void): void;
  close(): void;
}

const key = (service: string, version: string) => `${service}/${version}`;

/** The subgraph SDLs inside a supergraph (descriptions are lost: a fallback for unregistered subgraphs only). */
function extractSubgraphSdls(supergraphSdl: string): Map<string, string> {
  const result = new Map<string, string>();
  for (const subgraph of Supergraph.build(supergraphSdl).subgraphs().values()) {
    const doc = parse(subgraph.toString());
    // The printed `schema { query: Query }` names root types a subgraph may not define (notifications has no
    // Query of its own); composition wants only its @link directives.
    const definitions: DefinitionNode[] = doc.definitions.map((d) =>
      d.kind === Kind.SCHEMA_DEFINITION ? { kind: Kind.SCHEMA_EXTENSION, directives: d.directives ?? [], operationTypes: [] } : d,
    );
    result.set(subgraph.name, print({ ...doc, definitions }));
  }
  return result;
}

function apiSchemaOf(supergraphSdl: string): string {
  return printSchema(Supergraph.build(supergraphSdl).apiSchema().toGraphQLJSSchema());
}

/** See the module comment. */
export function createRegistryRecomposer(options: RegistryRecomposerOptions): RegistryRecomposer {
  const { watcher, supergraph } = options;
  const logger = options.logger.child({ component: "recomposition" });
  const outcomes = new Counter({
    name: "gateway_schema_recompositions_total",
    help: "Recompositions from registered subgraph schemas by outcome: applied, unchanged, refused_composition, refused_breaking, kept.",
    labelNames: ["outcome"],
    registers: [options.metrics.registry],
  });
  // What the served supergraph was composed from, by subgraph (absent: the file's own schema).
  const composedFrom = new Map<string, string>();
  const accepted = new Set<string>();
  const refused = new Set<string>();
  const sdlCache = new Map<string, string>();
  const servableListeners = new Set<(service: string) => void>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;

  const candidates = (service: string) => watcher.instances(service).filter((i) => !refused.has(key(service, i.schemaVersion)));
  const servable = (service: string) => {
    const all = candidates(service);
    const proven = all.filter((i) => accepted.has(key(service, i.schemaVersion)));
    return proven.length > 0 ? proven : all;
  };

  /** The schema version each subgraph should be composed from: its newest registered, servable instance's. */
  function desiredVersions(subgraphs: readonly string[]): Map<string, string> {
    const desired = new Map<string, string>();
    for (const name of subgraphs) {
      const newest = [...candidates(name)].sort((a, b) => b.startedAt.localeCompare(a.startedAt))[0];
      const version = newest?.schemaVersion ?? composedFrom.get(name);
      if (version) desired.set(name, version);
    }
    return desired;
  }

  function refuse(changed: readonly string[], desired: Map<string, string>, outcome: string, details: string[]): void {
    const fresh = changed.filter((name) => !accepted.has(key(name, desired.get(name)!)));
    if (fresh.length === 0) {
      // Only versions served before (the newer instances left): keep the richer supergraph being served.
      outcomes.inc({ outcome: "kept" });
      logger.info({ subgraphs: changed }, "registered schemas went back to earlier versions; keeping the served supergraph");
      return;
    }
    outcomes.inc({ outcome });
    for (const name of fresh) {
      refused.add(key(name, desired.get(name)!));
      for (const listener of servableListeners) listener(name);
    }
    logger.error(
      { subgraphs: Object.fromEntries(fresh.map((n) => [n, desired.get(n)])), outcome, problems: details.slice(0, 20) },
      "registered subgraph schema refused: the served supergraph is unchanged and instances serving that schema get no traffic",
    );
  }

  async function recomposeOnce(): Promise<void> {
    const current = supergraph.current();
    const names = current.subgraphs.map((s) => s.name);
    const desired = desiredVersions(names);
    const changed = names.filter((n) => desired.has(n) && desired.get(n) !== composedFrom.get(n));
    if (changed.length === 0) return;

    let extracted: Map<string, string> | undefined;
    const sdls: Array<{ name: string; url: string; sdl: string }> = [];
    for (const { name, url } of current.subgraphs) {
      const version = desired.get(name);
      let sdl = version ? sdlCache.get(key(name, version)) : undefined;
      if (version && sdl === undefined) {
        sdl = await watcher.schema(name, version);
        if (sdl !== undefined) sdlCache.set(key(name, version), sdl);
      }
      if (sdl === undefined) {
        if (version) {
          // Registered but its SDL is unreadable (Redis down): try again at the next change or resync.
          logger.warn({ subgraph: name, schemaVersion: version }, "cannot read a registered schema yet; recomposition postponed");
          return;
        }
        extracted ??= extractSubgraphSdls(current.sdl);
        sdl = extracted.get(name) ?? "";
      }
      sdls.push({ name, url, sdl });
    }

    const composed = composeSubgraphSchemas(sdls);
    if (!composed.ok) return refuse(changed, desired, "refused_composition", composed.errors);
    const breaking = (await compareSchemas(apiSchemaOf(current.sdl), composed.apiSchemaSdl)).filter((c) => c.level === "breaking");
    if (breaking.length > 0) {
      return refuse(
        changed,
        desired,
        "refused_breaking",
        breaking.map((c) => `${c.path ?? c.type}: ${c.message}`),
      );
    }
    try {
      const result = await supergraph.reload(composed.supergraphSdl, "registry");
      outcomes.inc({ outcome: result.outcome });
      for (const [name, version] of desired) {
        composedFrom.set(name, version);
        accepted.add(key(name, version));
      }
      for (const name of names) for (const listener of servableListeners) listener(name);
      logger.info(
        { subgraphs: Object.fromEntries(changed.map((n) => [n, desired.get(n)])), outcome: result.outcome },
        "supergraph recomposed from the registry",
      );
    } catch (error) {
      refuse(changed, desired, "refused_composition", [error instanceof Error ? error.message : String(error)]);
    }
  }

  function recompose(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await recomposeOnce();
        } catch (error) {
          logger.error({ err: error }, "recomposition failed; the served supergraph is unchanged");
        }
      } while (again);
    })().finally(() => (running = undefined));
    return running;
  }

  const unsubscribe = watcher.onChange(() => {
    clearTimeout(timer);
    timer = setTimeout(() => void recompose(), options.debounceMs ?? 100);
  });

  return {
    isRefused: (service, version) => refused.has(key(service, version)),
    servable,
    recompose,
    onServableChange: (listener) => void servableListeners.add(listener),
    close() {
      clearTimeout(timer);
      unsubscribe();
    },
  };
}
