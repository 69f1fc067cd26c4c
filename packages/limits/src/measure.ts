import { Kind, type DocumentNode, type FragmentDefinitionNode, type OperationDefinitionNode, type SelectionSetNode } from "graphql";

/** The shape of one operation, every fragment spread expanded (what the limits compare). */
export interface OperationMeasures {
  /** Deepest field selection (`{ me { id } }` is 2). */
  depth: number;
  /** Deepest nesting of selection sets and fragment spreads. */
  nesting: number;
  /** Field selections. */
  fields: number;
  /** Aliased field selections. */
  aliases: number;
  /** Fields at the root. */
  rootFields: number;
  /** Directive uses (operation, variables, fields, fragments). */
  directives: number;
}

interface Stats {
  depth: number;
  nesting: number;
  fields: number;
  aliases: number;
  directives: number;
  /** Fields at this level, through inline fragments and spreads. */
  top: number;
}

const ZERO: Stats = { depth: 0, nesting: 0, fields: 0, aliases: 0, directives: 0, top: 0 };
const INTROSPECTION_FIELDS: ReadonlySet<string> = new Set(["__schema", "__type"]);

/** Options of {@link measureOperation}. */
export interface MeasureOptions {
  /**
   * Leave `__schema` and `__type` selections out of every measure.
   * @default false
   */
  ignoreIntrospection?: boolean;
}

/**
 * Measures `operation` of `document` with every fragment spread expanded, in time linear in the document: each
 * fragment is measured once and its numbers are added at each spread (so a fragment spread twice, spreading
 * another twice, ... counts 2^n fields without expanding anything: fragment bombs are measured, not executed).
 *
 * Written here rather than taken from graphql-armor: its max-depth, max-aliases and max-directives are validation
 * rules, and Apollo Server rewrites every validation error's code to GRAPHQL_VALIDATION_FAILED, so they cannot
 * answer QUERY_TOO_COMPLEX with the limit and the measured value; they also walk fragments once per spread.
 *
 * Works on unvalidated documents too: an unknown fragment counts as empty, a fragment cycle is cut.
 */
export function measureOperation(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  options: MeasureOptions = {},
): OperationMeasures {
  const ignoreIntrospection = options.ignoreIntrospection ?? false;
  const definitions = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION && !definitions.has(definition.name.value))
      definitions.set(definition.name.value, definition);
  }
  const fragments = new Map<string, Stats>();

  const measureSet = (set: SelectionSetNode): Stats => {
    const stats: Stats = { ...ZERO };
    for (const selection of set.selections) {
      stats.directives += selection.directives?.length ?? 0;
      if (selection.kind === Kind.FIELD) {
        if (ignoreIntrospection && INTROSPECTION_FIELDS.has(selection.name.value)) continue;
        const child = selection.selectionSet ? measureSet(selection.selectionSet) : ZERO;
        stats.fields += 1 + child.fields;
        stats.aliases += (selection.alias ? 1 : 0) + child.aliases;
        stats.directives += child.directives;
        stats.depth = Math.max(stats.depth, 1 + child.depth);
        stats.nesting = Math.max(stats.nesting, child.nesting);
        stats.top += 1;
      } else {
        const inner =
          selection.kind === Kind.INLINE_FRAGMENT ? measureSet(selection.selectionSet) : (fragments.get(selection.name.value) ?? ZERO);
        const spread = selection.kind === Kind.FRAGMENT_SPREAD ? 1 : 0;
        stats.fields += inner.fields;
        stats.aliases += inner.aliases;
        stats.directives += inner.directives;
        stats.depth = Math.max(stats.depth, inner.depth);
        stats.nesting = Math.max(stats.nesting, spread + inner.nesting);
        stats.top += inner.top;
      }
    }
    stats.nesting += 1;
    return stats;
  };

  // Fragments in dependency order (the ones a fragment spreads first), with an explicit stack: a chain of
  // thousands of fragments must not recurse thousands of frames deep.
  for (const name of reachableFragments(operation.selectionSet, definitions)) {
    fragments.set(name, ZERO); // cut cycles (an unvalidated document): a fragment in progress counts as empty
    const definition = definitions.get(name)!;
    const stats = measureSet(definition.selectionSet);
    fragments.set(name, { ...stats, directives: stats.directives + (definition.directives?.length ?? 0) });
  }

  const root = measureSet(operation.selectionSet);
  const variableDirectives = (operation.variableDefinitions ?? []).reduce((n, v) => n + (v.directives?.length ?? 0), 0);
  return {
    depth: root.depth,
    nesting: root.nesting,
    fields: root.fields,
    aliases: root.aliases,
    rootFields: root.top,
    directives: root.directives + (operation.directives?.length ?? 0) + variableDirectives,
  };
}

/** The fragment names spread directly in `set` (inline fragments and sub-selections included, spreads not followed). */
export function spreadsOf(set: SelectionSetNode): Set<string> {
  const names = new Set<string>();
  const stack: SelectionSetNode[] = [set];
  for (let current = stack.pop(); current; current = stack.pop()) {
    for (const selection of current.selections) {
      if (selection.kind === Kind.FRAGMENT_SPREAD) names.add(selection.name.value);
      else if (selection.selectionSet) stack.push(selection.selectionSet);
    }
  }
  return names;
}

/**
 * The fragments reachable from `set`, each after the fragments it spreads (post-order), found iteratively.
 * Unknown fragment names are left out; cycles are cut.
 */
export function reachableFragments(set: SelectionSetNode, definitions: ReadonlyMap<string, FragmentDefinitionNode>): string[] {
  const order: string[] = [];
  const state = new Map<string, "open" | "done">();
  const stack: Array<{ name: string; pending: string[] }> = [];
  const open = (name: string) => {
    const definition = definitions.get(name);
    if (!definition || state.has(name)) return;
    state.set(name, "open");
    stack.push({ name, pending: [...spreadsOf(definition.selectionSet)] });
  };
  for (const name of spreadsOf(set)) {
    open(name);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const next = top.pending.pop();
      if (next === undefined) {
        stack.pop();
        state.set(top.name, "done");
        order.push(top.name);
      } else {
        open(next);
      }
    }
  }
  return order;
}
