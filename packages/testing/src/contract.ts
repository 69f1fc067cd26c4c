/**
 * The contract every subgraph keeps with the gateway, as a reusable vitest suite. A subgraph's test file calls
 * {@link defineSubgraphContractSuite} with a way to start it (in-process or as a process) and a few entities
 * that exist in the data it starts with; the suite checks what federation and the platform rely on:
 *
 * - `_service { sdl }` is the subgraph's `src/schema.graphql` (every type and field of the file, and no other),
 *   with the `@link` to federation v2, and composes on its own;
 * - `_entities` resolves each entity from its key with the requested fields, and a valid but unknown key to
 *   null (or, for a type the subgraph only extends, to an object built from the key);
 * - `/health/live`, `/health/ready` and `/metrics` answer.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { composeServices } from "@apollo/composition";
import { Kind, parse, type DefinitionNode, type DocumentNode, type FieldNode, type OperationDefinitionNode } from "graphql";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createTestDatabase } from "./database.ts";
import { ROOT_DIR } from "./run.ts";
import { signedHeaders } from "./signing.ts";

/** An entity type the subgraph resolves through `_entities`. */
export interface ContractEntity {
  /** e.g. `User`. */
  typename: string;
  /** The key of an entity that exists once `start` resolved, e.g. `{ id: "<uuid of a seeded user>" }`. */
  key: Record<string, unknown>;
  /** A key that is valid (e.g. a well-formed UUID) but matches nothing. */
  missingKey?: Record<string, unknown>;
  /** Selection on the entity, e.g. `"id email name"` or `"id price { amount currency }"`. */
  fields: string;
  /**
   * What `_entities` gives for {@link missingKey}: `null`, or `object` for a type the subgraph only extends
   * and computes from the key (e.g. inventory's `Product.stock`, 0 for a product never stocked).
   * @default "null"
   */
  missingResolvesTo?: "null" | "object";
}

/** A started subgraph. */
export interface StartedSubgraph {
  /** Its `/graphql` URL. */
  url: string;
  stop: () => Promise<void>;
}

/** Options of {@link defineSubgraphContractSuite}. */
export interface SubgraphContractSuiteOptions {
  /** Subgraph name, as under `subgraphs/` and in the port table. */
  name: string;
  /** Starts the subgraph with the data the entities refer to; called once, before the tests. */
  start: () => Promise<StartedSubgraph>;
  entities: ContractEntity[];
  /**
   * The schema file the subgraph is supposed to serve.
   * @default subgraphs/<name>/src/schema.graphql
   */
  schemaPath?: string;
  /**
   * Headers of every GraphQL request of the suite: subgraphs accept signed requests only, so typically
   * `signedHeaders("<name>", identity)` of @ecom/testing (a signature per request, as the gateway makes).
   * @default signedHeaders(name) (anonymous, test keys)
   */
  headers?: RequestHeaders;
}

/**
 * The usual `start` of {@link defineSubgraphContractSuite}: a clone of the subgraph's test database, filled by
 * `seed` (the entities' data), with the subgraph started over it by `start`; its `stop` stops the subgraph, then
 * drops the database (also when `start` fails).
 *
 * @example defineSubgraphContractSuite({ name: "products", start: seededSubgraph("products", seed, startProducts), entities })
 */
export function seededSubgraph(
  name: string,
  seed: (databaseUrl: string) => Promise<unknown>,
  start: (databaseUrl: string) => Promise<{ url: string } & AsyncDisposable>,
): () => Promise<StartedSubgraph> {
  return async () => {
    const db = await createTestDatabase(inject("testRun"), name);
    try {
      await seed(db.url);
      const api = await start(db.url);
      return {
        url: api.url,
        stop: async () => {
          await api[Symbol.asyncDispose]();
          await db.drop();
        },
      };
    } catch (error) {
      await db.drop();
      throw error;
    }
  };
}

/**
 * Headers of a request: fixed, or made per request from its body and URL (a signature: `signedHeaders` of
 * subgraph.ts).
 */
export type RequestHeaders = Record<string, string> | ((body: string, url: URL) => Record<string, string>);

/** The GraphQL response of {@link postGraphQL}. */
export interface GraphQLHttpResult {
  status: number;
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

/** POSTs one operation to a GraphQL endpoint. */
export async function postGraphQL(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  headers: RequestHeaders = {},
): Promise<GraphQLHttpResult> {
  const payload = JSON.stringify({ query, variables });
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(typeof headers === "function" ? headers(payload, new URL(url)) : headers) },
    body: payload,
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json()) as Omit<GraphQLHttpResult, "status">;
  return { status: res.status, ...body };
}

const FEDERATION_V2_LINK = /@link\(\s*url:\s*"https:\/\/specs\.apollo\.dev\/federation\/v2\.\d+"/;

// Types federation adds to a subgraph schema; they are not part of the file's contract.
const isFederationTypeName = (name: string) => name.startsWith("_") || name.startsWith("link__") || name.startsWith("federation__");

/**
 * Type name -> field names (value names for enums) of a document, merging definitions and extensions
 * (`type Query` and `extend type Query` count as one type). Scalars and unions map to an empty set.
 */
export function typeMembers(document: DocumentNode): Map<string, Set<string>> {
  const members = new Map<string, Set<string>>();
  const add = (definition: DefinitionNode) => {
    if (!("name" in definition) || !definition.name || definition.kind === Kind.DIRECTIVE_DEFINITION) return;
    const name = definition.name.value;
    const set = members.get(name) ?? new Set<string>();
    members.set(name, set);
    if ("fields" in definition && definition.fields) for (const field of definition.fields) set.add(field.name.value);
    if ("values" in definition && definition.values) for (const value of definition.values) set.add(value.name.value);
  };
  for (const definition of document.definitions) add(definition);
  return members;
}

/**
 * Differences between the types of the schema file and of the served SDL, one readable line each
 * (`missing type Order`, `missing field User.orders`, `unexpected field User.nickname`); federation's own
 * types are ignored, and so is a `Query` of federation fields only (`_entities`, `_service`: what
 * `buildSubgraphSchema` adds to a subgraph that declares no Query of its own, e.g. one that only extends entities).
 */
export function compareSubgraphTypes(file: DocumentNode, served: DocumentNode): string[] {
  const expected = typeMembers(file);
  const actual = typeMembers(served);
  const problems: string[] = [];
  for (const [type, fields] of expected) {
    if (isFederationTypeName(type)) continue;
    const got = actual.get(type);
    if (!got) {
      problems.push(`missing type ${type}`);
      continue;
    }
    for (const field of fields) if (!got.has(field)) problems.push(`missing field ${type}.${field}`);
    for (const field of got) if (!fields.has(field) && !field.startsWith("_")) problems.push(`unexpected field ${type}.${field}`);
  }
  const onlyFederationFields = (fields: Set<string>) => fields.size > 0 && [...fields].every((f) => f.startsWith("_"));
  for (const [type, fields] of actual) {
    if (!expected.has(type) && !isFederationTypeName(type) && !onlyFederationFields(fields)) problems.push(`unexpected type ${type}`);
  }
  return problems;
}

/** The top-level field names (response keys) of a selection such as `id price { amount }`. */
export function topLevelFields(selection: string): string[] {
  const operation = parse(`{ ${selection} }`).definitions[0] as OperationDefinitionNode;
  return operation.selectionSet.selections.filter((s): s is FieldNode => s.kind === Kind.FIELD).map((f) => (f.alias ?? f.name).value);
}

/**
 * Registers the contract tests of one subgraph (call it at the top level of a test file; the subgraph needs
 * whatever its `start` needs, usually a database: name the file `*.int.test.ts`).
 */
export function defineSubgraphContractSuite(options: SubgraphContractSuiteOptions): void {
  const schemaPath = options.schemaPath ?? path.join(ROOT_DIR, "subgraphs", options.name, "src", "schema.graphql");
  const headers = options.headers ?? signedHeaders(options.name);

  describe(`subgraph contract: ${options.name}`, () => {
    let subgraph: StartedSubgraph | undefined;
    let sdl = "";

    beforeAll(async () => {
      subgraph = await options.start();
      const result = await postGraphQL(subgraph.url, "{ _service { sdl } }", undefined, headers);
      expect(result.errors, "_service { sdl } answered errors").toBeUndefined();
      sdl = (result.data?.["_service"] as { sdl?: string } | undefined)?.sdl ?? "";
    });
    afterAll(async () => {
      await subgraph?.stop();
    });

    const url = () => {
      if (!subgraph) throw new Error(`${options.name} did not start`);
      return subgraph.url;
    };

    it("serves its SDL in _service { sdl }, linked to federation v2", () => {
      expect(sdl.length).toBeGreaterThan(0);
      expect(() => parse(sdl)).not.toThrow();
      expect(sdl).toMatch(FEDERATION_V2_LINK);
    });

    it("serves the types and fields of its src/schema.graphql, and no others", () => {
      const file = parse(readFileSync(schemaPath, "utf8"));
      expect(compareSubgraphTypes(file, parse(sdl))).toEqual([]);
    });

    it("composes on its own", () => {
      const result = composeServices([{ name: options.name, url: url(), typeDefs: parse(sdl) }]);
      // A subgraph that declares no Query (it only extends entities, e.g. notifications) cannot be a supergraph
      // alone: federation wants a query root somewhere (NO_QUERIES). That is the supergraph's concern (`npm run
      // compose` checks it with every subgraph); any other composition error is this subgraph's and fails here.
      const declaresQuery = typeMembers(parse(readFileSync(schemaPath, "utf8"))).has("Query");
      const errors = (result.errors ?? []).filter((e) => declaresQuery || e.extensions["code"] !== "NO_QUERIES");
      expect(errors.map((e) => `[${String(e.extensions["code"])}] ${e.message}`)).toEqual([]);
    });

    for (const entity of options.entities) {
      it(`resolves ${entity.typename} from its key through _entities${entity.missingKey ? ", and an unknown key as missing" : ""}`, async () => {
        const representations = [
          { __typename: entity.typename, ...entity.key },
          ...(entity.missingKey ? [{ __typename: entity.typename, ...entity.missingKey }] : []),
        ];
        const query = `query ($representations: [_Any!]!) { _entities(representations: $representations) { __typename ... on ${entity.typename} { ${entity.fields} } } }`;
        const result = await postGraphQL(url(), query, { representations }, headers);
        expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
        const entities = result.data?.["_entities"] as Array<Record<string, unknown> | null>;
        expect(entities).toHaveLength(representations.length);

        const found = entities[0];
        expect(found, `${entity.typename} ${JSON.stringify(entity.key)} was not found`).not.toBeNull();
        expect(found?.["__typename"]).toBe(entity.typename);
        for (const field of topLevelFields(entity.fields)) expect(found, `field ${field}`).toHaveProperty(field);
        for (const [keyField, value] of Object.entries(entity.key)) {
          if (field(found, keyField) !== undefined) expect(found?.[keyField]).toEqual(value);
        }

        if (entity.missingKey) {
          const missing = entities[1];
          if ((entity.missingResolvesTo ?? "null") === "null") expect(missing).toBeNull();
          else expect(missing).toMatchObject({ __typename: entity.typename });
        }
      });
    }

    it("serves /health/live, /health/ready and /metrics", async () => {
      const origin = new URL(url()).origin;
      const live = await fetch(`${origin}/health/live`);
      expect(live.status).toBe(200);
      const ready = await fetch(`${origin}/health/ready`);
      expect(ready.status, await ready.clone().text()).toBe(200);
      expect(await ready.json()).toMatchObject({ status: "ok" });
      const metrics = await fetch(`${origin}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain("# HELP http_request_duration_seconds");
    });
  });
}

function field(object: Record<string, unknown> | null | undefined, name: string): unknown {
  return object ? object[name] : undefined;
}
