/**
 * The cost of an operation: how much work and response it may make, from the schema, the document and the
 * variables alone (nothing executes). The model is IBM's GraphQL cost specification, which Apollo Router's demand
 * control and Hive Gateway follow: each object in the response weighs `objectWeight` (scalars `leafWeight`), a
 * field's own weight (`@cost`) replaces its type's, lists multiply their items by their size (`@listSize`:
 * the largest slicing argument such as `first`, else an assumed size), and mutations weigh extra.
 *
 * Written here because the libraries do not implement that model: graphql-query-complexity's estimators see a
 * field's total child complexity only, so they cannot apply `first` to a connection's `edges` (`sizedFields`),
 * and it expands fragments once per spread (exponential on fragment bombs); graphql-armor's cost-limit has no
 * list multipliers at all. This one is memoized per fragment and selection set, so it is linear in the document.
 */
import {
  getArgumentValues,
  getDirectiveValues,
  getNamedType,
  getNullableType,
  getOperationAST,
  getVariableValues,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  isAbstractType,
  isCompositeType,
  isListType,
  isObjectType,
  Kind,
  type ConstDirectiveNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type FragmentSpreadNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type InlineFragmentNode,
  type SelectionSetNode,
} from "graphql";
import { costConfigSchema, type CostConfig, type CostConfigInput, type FieldCost, type ListSize } from "./config.ts";

/** What {@link operationCost} needs. */
export interface OperationCostInput {
  schema: GraphQLSchema;
  document: DocumentNode;
  /** Which operation of the document (needed when it has several). */
  operationName?: string | null | undefined;
  /** The request's variables (raw JSON values; coerced here like execution does). */
  variables?: Readonly<Record<string, unknown>> | null | undefined;
  /**
   * The cost model.
   * @default costConfigSchema defaults: objects 1, leaves 0, mutations +10, lists of 10, no field entries
   */
  config?: CostConfig | CostConfigInput | undefined;
}

type Variables = Record<string, unknown>;

/**
 * The cost of the operation: a pure function of its input. 0 for an operation the document does not contain or
 * the schema cannot run (nothing will execute). Variables that do not coerce are ignored (execution will refuse
 * them): list sizes then fall back to the assumed ones.
 */
export function operationCost(input: OperationCostInput): number {
  const config = isParsedCostConfig(input.config) ? input.config : costConfigSchema.parse(input.config ?? {});
  const operation = getOperationAST(input.document, input.operationName ?? undefined);
  if (!operation) return 0;
  const rootType = input.schema.getRootType(operation.operation);
  if (!rootType) return 0;
  const coerced = getVariableValues(input.schema, operation.variableDefinitions ?? [], { ...(input.variables ?? {}) });
  const variables: Variables = coerced.coerced ?? {};
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of input.document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const mutationRoot = operation.operation === "mutation" ? rootType : undefined;
  const memo = new WeakMap<SelectionSetNode, Map<string, number>>();
  const fragmentMemo = new Map<string, number>();

  const included = (node: FieldNode | InlineFragmentNode | FragmentSpreadNode): boolean => {
    if (!node.directives?.length) return true;
    try {
      if (getDirectiveValues(GraphQLSkipDirective, node, variables)?.["if"] === true) return false;
      if (getDirectiveValues(GraphQLIncludeDirective, node, variables)?.["if"] === false) return false;
    } catch {
      // an unknown variable: count the selection (the worst case)
    }
    return true;
  };

  const appliesTo = (typeCondition: string | undefined, type: GraphQLObjectType): boolean => {
    if (typeCondition === undefined || typeCondition === type.name) return true;
    const condition = input.schema.getType(typeCondition);
    return condition !== undefined && isAbstractType(condition) && input.schema.isSubType(condition, type);
  };

  /** Cost of `set` on a value of `type`: the most expensive possible object type when `type` is abstract. */
  const costOfSet = (set: SelectionSetNode, type: GraphQLCompositeType, sized: SizedFields | undefined): number => {
    const key = `${type.name}|${sized ? sizedKey(sized) : ""}`;
    let bySet = memo.get(set);
    const cached = bySet?.get(key);
    if (cached !== undefined) return cached;
    const types = isObjectType(type) ? [type] : input.schema.getPossibleTypes(type);
    let cost = 0;
    for (const objectType of types) cost = Math.max(cost, costOnObject(set, objectType, sized));
    if (!bySet) memo.set(set, (bySet = new Map()));
    bySet.set(key, cost);
    return cost;
  };

  const costOnObject = (set: SelectionSetNode, type: GraphQLObjectType, sized: SizedFields | undefined): number => {
    let cost = 0;
    for (const selection of set.selections) {
      if (!included(selection)) continue;
      if (selection.kind === Kind.FIELD) {
        cost += fieldCost(selection, type, sized);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        if (appliesTo(selection.typeCondition?.name.value, type)) cost += costOnObject(selection.selectionSet, type, sized);
      } else {
        const fragment = fragments.get(selection.name.value);
        if (!fragment || !appliesTo(fragment.typeCondition.name.value, type)) continue;
        const key = `${fragment.name.value}|${type.name}|${sized ? sizedKey(sized) : ""}`;
        let value = fragmentMemo.get(key);
        if (value === undefined) {
          fragmentMemo.set(key, 0); // cuts a cycle (unvalidated document)
          value = costOnObject(fragment.selectionSet, type, sized);
          fragmentMemo.set(key, value);
        }
        cost += value;
      }
    }
    return cost;
  };

  const fieldCost = (node: FieldNode, parent: GraphQLObjectType, sized: SizedFields | undefined): number => {
    const name = node.name.value;
    if (name.startsWith("__")) return 0;
    const field = parent.getFields()[name];
    if (!field) return 0;
    const entry: FieldCost | undefined = config.fields[`${parent.name}.${name}`];
    const namedType = getNamedType(field.type);
    let weight = entry?.weight ?? config.types[namedType.name] ?? (isCompositeType(namedType) ? config.objectWeight : config.leafWeight);
    if (parent === mutationRoot) weight += config.mutationWeight;

    const size = listSizeOf(entry?.listSize, field, node, variables, config.defaultListSize);
    const childSized = entry?.listSize?.sizedFields?.length ? { names: entry.listSize.sizedFields, size } : undefined;
    const multiplier = sized && sized.names.includes(name) ? sized.size : childSized ? 1 : size ** listDepth(field.type);
    const child = node.selectionSet && isCompositeType(namedType) ? costOfSet(node.selectionSet, namedType, childSized) : 0;
    return multiplier * (weight + child);
  };

  return costOfSet(operation.selectionSet, rootType, undefined);
}

/** The child fields a connection's size applies to (`edges`), and that size. */
interface SizedFields {
  names: readonly string[];
  size: number;
}

const sizedKey = (sized: SizedFields) => `${sized.names.join(",")}=${sized.size}`;

/** How many list levels wrap a type (`[[Int]]` is 2). */
function listDepth(type: GraphQLOutputType): number {
  let depth = 0;
  for (let t = getNullableType(type); isListType(t); t = getNullableType(t.ofType)) depth += 1;
  return depth;
}

/** The size of a list field: the largest slicing argument given, else the assumed size, else the default. */
function listSizeOf(
  listSize: ListSize | undefined,
  field: GraphQLField<unknown, unknown>,
  node: FieldNode,
  variables: Variables,
  defaultListSize: number,
): number {
  if (listSize?.slicingArguments?.length) {
    let args: Record<string, unknown> = {};
    try {
      args = getArgumentValues(field, node, variables);
    } catch {
      // an argument that does not coerce: execution refuses it; assume the configured size meanwhile
    }
    let size: number | undefined;
    for (const name of listSize.slicingArguments) {
      const value = args[name];
      // Negative or fractional sizes never lower the cost: a list has at least 0 items.
      const n = Array.isArray(value)
        ? value.length
        : typeof value === "number" && Number.isFinite(value)
          ? Math.max(0, Math.ceil(value))
          : undefined;
      if (n !== undefined) size = Math.max(size ?? 0, n);
    }
    if (size !== undefined) return size;
  }
  return listSize?.assumedSize ?? defaultListSize;
}

const PARSED = new WeakSet<object>();

/** Parses a cost configuration once: {@link operationCost} then takes it as it is. */
export function parseCostConfig(config: CostConfigInput = {}): CostConfig {
  const parsed = costConfigSchema.parse(config);
  PARSED.add(parsed);
  return parsed;
}

function isParsedCostConfig(config: CostConfig | CostConfigInput | undefined): config is CostConfig {
  return typeof config === "object" && config !== null && PARSED.has(config);
}

/**
 * Cost entries from `@cost(weight:)` and `@listSize(assumedSize:, slicingArguments:, sizedFields:)` annotations of
 * an SDL (a subgraph's schema or the supergraph; federation 2.9 composes both directives into it), as
 * `types` and `fields` of a {@link CostConfig}. A team annotates its own fields; explicit configuration entries
 * win over annotations (see {@link mergeCostConfig}).
 */
export function costConfigFromSdl(sdl: DocumentNode): Pick<CostConfig, "types" | "fields"> {
  const types: Record<string, number> = {};
  const fields: Record<string, FieldCost> = {};
  for (const definition of sdl.definitions) {
    if (!("name" in definition) || !definition.name || !("fields" in definition)) continue;
    const typeName = definition.name.value;
    const typeWeight = weightOf(definition.directives);
    if (typeWeight !== undefined) types[typeName] = typeWeight;
    for (const field of definition.fields ?? []) {
      if (field.kind !== Kind.FIELD_DEFINITION) continue;
      const weight = weightOf(field.directives);
      const listSize = listSizeOfDirectives(field.directives);
      if (weight === undefined && listSize === undefined) continue;
      fields[`${typeName}.${field.name.value}`] = { ...(weight === undefined ? {} : { weight }), ...(listSize ? { listSize } : {}) };
    }
  }
  return { types, fields };
}

const COST_DIRECTIVES: ReadonlySet<string> = new Set(["cost", "federation__cost"]);
const LIST_SIZE_DIRECTIVES: ReadonlySet<string> = new Set(["listSize", "federation__listSize"]);

function directiveArgs(directives: readonly ConstDirectiveNode[] | undefined, names: ReadonlySet<string>) {
  const directive = directives?.find((d) => names.has(d.name.value));
  return directive ? new Map((directive.arguments ?? []).map((a) => [a.name.value, a.value])) : undefined;
}

function weightOf(directives: readonly ConstDirectiveNode[] | undefined): number | undefined {
  const value = directiveArgs(directives, COST_DIRECTIVES)?.get("weight");
  if (!value) return undefined;
  // Apollo's @cost takes an Int, IBM's a String holding a number.
  const n = value.kind === Kind.INT || value.kind === Kind.FLOAT || value.kind === Kind.STRING ? Number(value.value) : Number.NaN;
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

function listSizeOfDirectives(directives: readonly ConstDirectiveNode[] | undefined): ListSize | undefined {
  const args = directiveArgs(directives, LIST_SIZE_DIRECTIVES);
  if (!args) return undefined;
  const strings = (name: string) => {
    const value = args.get(name);
    if (value?.kind === Kind.STRING) return [value.value];
    if (value?.kind !== Kind.LIST) return undefined;
    return value.values.flatMap((v) => (v.kind === Kind.STRING ? [v.value] : []));
  };
  const assumed = args.get("assumedSize");
  const assumedSize = assumed?.kind === Kind.INT ? Number(assumed.value) : undefined;
  const slicingArguments = strings("slicingArguments");
  const sizedFields = strings("sizedFields");
  return {
    ...(assumedSize === undefined ? {} : { assumedSize }),
    ...(slicingArguments ? { slicingArguments } : {}),
    ...(sizedFields ? { sizedFields } : {}),
  };
}

/** `base` with `override`'s entries on top (type by type, field by field). */
export function mergeCostConfig(base: CostConfigInput, override: CostConfigInput): CostConfig {
  return parseCostConfig({
    ...base,
    ...override,
    types: { ...base.types, ...override.types },
    fields: { ...base.fields, ...override.fields },
  });
}
