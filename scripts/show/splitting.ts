/**
 * `npm run show -- splitting`: the subgraphs that run, the entities each owns and extends (read from the supergraph
 * composed from the SDL each running subgraph serves), and the database boundary: one service's role reads its own
 * tables and is refused another service's database by Postgres itself.
 */
import { createRequestSigner, devMasterKeyring, pairKeyringFromMaster } from "@ecom/auth";
import { databaseUrlFor, SUBGRAPH_NAMES } from "@ecom/config";
import { parsePgUrl } from "@ecom/db";
import { composeSubgraphSchemas } from "@ecom/schema-checks";
import { Kind, parse, type ConstDirectiveNode, type DocumentNode } from "graphql";
import pg from "pg";
import { ShowFailure, type Show } from "./lib.ts";

/** One entity (a type with a `@key`) of a supergraph and what each subgraph does with it. */
export interface EntityOwnership {
  type: string;
  /** The subgraph that resolves most of its fields. */
  owner: string;
  ownFields: string[];
  /** Other subgraphs that resolve fields of it, with those fields. */
  extendedBy: Array<{ subgraph: string; fields: string[] }>;
  /** Subgraphs that only reference it (`resolvable: false`: they return `{ __typename, id }` stubs). */
  referencedBy: string[];
}

const argOf = (directive: ConstDirectiveNode, name: string) => directive.arguments?.find((a) => a.name.value === name)?.value;
const stringArg = (directive: ConstDirectiveNode, name: string): string | undefined => {
  const v = argOf(directive, name);
  return v?.kind === Kind.STRING || v?.kind === Kind.ENUM ? v.value : undefined;
};
const boolArg = (directive: ConstDirectiveNode, name: string): boolean | undefined => {
  const v = argOf(directive, name);
  return v?.kind === Kind.BOOLEAN ? v.value : undefined;
};

/** Reads the `@join__*` directives of a supergraph: who owns, extends and references each entity. */
export function entityOwnership(supergraph: DocumentNode): EntityOwnership[] {
  // join__Graph enum values (USERS) carry the subgraph's name (users) in @join__graph(name:).
  const graphNames = new Map<string, string>();
  for (const def of supergraph.definitions) {
    if (def.kind !== Kind.ENUM_TYPE_DEFINITION || def.name.value !== "join__Graph") continue;
    for (const value of def.values ?? []) {
      const join = value.directives?.find((d) => d.name.value === "join__graph");
      graphNames.set(value.name.value, (join && stringArg(join, "name")) ?? value.name.value.toLowerCase());
    }
  }
  const nameOf = (graph: string | undefined) => (graph ? (graphNames.get(graph) ?? graph) : "?");
  const result: EntityOwnership[] = [];
  for (const def of supergraph.definitions) {
    if (def.kind !== Kind.OBJECT_TYPE_DEFINITION) continue;
    const joins = (def.directives ?? []).filter((d) => d.name.value === "join__type");
    const keyed = joins.filter((d) => stringArg(d, "key") !== undefined);
    if (keyed.length === 0) continue;
    const keyFields = new Set(keyed.flatMap((d) => (stringArg(d, "key") ?? "").split(/\s+/)));
    const resolvable = keyed.filter((d) => boolArg(d, "resolvable") !== false).map((d) => nameOf(stringArg(d, "graph")));
    const referencedBy = keyed.filter((d) => boolArg(d, "resolvable") === false).map((d) => nameOf(stringArg(d, "graph")));
    const fieldsBy = new Map<string, string[]>(resolvable.map((g) => [g, []]));
    for (const field of def.fields ?? []) {
      if (keyFields.has(field.name.value)) continue;
      const fieldJoins = (field.directives ?? []).filter((d) => d.name.value === "join__field");
      // No @join__field: every subgraph of the type resolves it.
      const graphs =
        fieldJoins.length === 0
          ? resolvable
          : fieldJoins.filter((d) => boolArg(d, "external") !== true).map((d) => nameOf(stringArg(d, "graph")));
      for (const g of graphs) fieldsBy.get(g)?.push(field.name.value);
    }
    const ranked = [...fieldsBy.entries()].sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]));
    const [owner, ownFields] = ranked[0] ?? ["?", []];
    result.push({
      type: def.name.value,
      owner,
      ownFields,
      extendedBy: ranked
        .slice(1)
        .filter(([, fields]) => fields.length > 0)
        .map(([subgraph, fields]) => ({ subgraph, fields })),
      referencedBy: referencedBy.sort(),
    });
  }
  return result.sort((a, b) => a.type.localeCompare(b.type));
}

/** The SDL a running subgraph serves (`{ _service { sdl } }`, the federation introspection the gateway uses). */
async function sdlOf(show: Show, name: string, url: string): Promise<string> {
  let res: Response;
  // Subgraphs answer signed calls only: signed as the gateway of `npm start` signs (the development keys).
  const body = JSON.stringify({ query: "{ _service { sdl } }" });
  const headers = { "content-type": "application/json" };
  const sign = createRequestSigner({ caller: "gateway", target: name, keys: pairKeyringFromMaster(devMasterKeyring(), "gateway", name) });
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { ...headers, ...sign({ method: "POST", path: new URL(url).pathname, body, headers }) },
      body,
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    throw new ShowFailure(`${name} at ${url} did not answer (${(error as Error).message}): is \`npm start\` running?`);
  }
  const answer = (await res.json().catch(() => ({}))) as { data?: { _service?: { sdl?: string } } };
  const sdl = answer.data?._service?.sdl;
  if (!sdl) throw new ShowFailure(`${name} at ${url} answered ${res.status} without its SDL`);
  show.say(`${name.padEnd(13)} ${url}  serves ${sdl.split("\n").length} lines of SDL`);
  return sdl;
}

/** Runs a query on `url`; resolves with the rows or rejects with Postgres's own error. */
async function query(url: string, sql: string): Promise<pg.QueryResultRow[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    return (await client.query(sql)).rows;
  } finally {
    await client.end().catch(() => {});
  }
}

export async function showSplitting(show: Show): Promise<void> {
  show.step("the subgraphs running, each with its own schema");
  const sdls = [];
  for (const name of SUBGRAPH_NAMES) {
    const url = `http://127.0.0.1:${show.subgraphPort(name)}/graphql`;
    sdls.push({ name, url, sdl: await sdlOf(show, name, url) });
  }
  const composed = composeSubgraphSchemas(sdls);
  if (!composed.ok) throw new ShowFailure(`the running subgraphs do not compose:\n${composed.errors.join("\n")}`);
  show.say(`composed into one supergraph (${composed.supergraphSdl.split("\n").length} lines), as the gateway does`);

  show.step("entities: who owns them, who extends them, who only references them");
  const entities = entityOwnership(parse(composed.supergraphSdl));
  for (const e of entities) {
    const parts = [`${e.type.padEnd(9)} owned by ${e.owner} (${e.ownFields.join(", ")})`];
    for (const x of e.extendedBy) parts.push(`extended by ${x.subgraph} (${x.fields.join(", ")})`);
    if (e.referencedBy.length > 0) parts.push(`referenced by ${e.referencedBy.join(", ")}`);
    show.say(parts.join("; "));
  }
  const extended = entities.filter((e) => e.extendedBy.length > 0);
  if (entities.length === 0 || extended.length === 0) throw new ShowFailure("the supergraph has no entity shared between subgraphs");

  show.step("databases: a role per service, each database private to its service");
  const admin = parsePgUrl(show.env.postgresAdminUrl);
  const urlOf = (service: string) => databaseUrlFor(service, { prefix: show.env.databasePrefix, host: admin.host, port: admin.port });
  const orders = urlOf("orders");
  const ordersRole = new URL(orders).username;
  const usersDb = new URL(urlOf("users")).pathname.slice(1);
  const own = await query(orders, "SELECT count(*)::int AS n FROM orders").catch((error: unknown) => {
    throw new ShowFailure(
      `the orders role could not read its own table (${(error as Error).message}): did npm start bootstrap ${new URL(orders).pathname.slice(1)}?`,
    );
  });
  show.say(`${ordersRole} on its own database: SELECT count(*) FROM orders -> ${own[0]?.n} rows`);
  const foreign = new URL(orders);
  foreign.pathname = `/${usersDb}`;
  try {
    const rows = await query(foreign.toString(), "SELECT email FROM users LIMIT 1");
    throw new ShowFailure(`${ordersRole} read the users service's table (${rows.length} row): the databases are not private`);
  } catch (error) {
    if (error instanceof ShowFailure) throw error;
    const pgError = error as { code?: string; message: string };
    if (pgError.code !== "42501")
      throw new ShowFailure(`expected Postgres to refuse ${ordersRole} with 42501, got ${pgError.code ?? "?"}: ${pgError.message}`);
    show.say(`${ordersRole} on ${usersDb}: SELECT email FROM users -> refused by Postgres: ${pgError.code} ${pgError.message}`);
  }
  show.say("so orders learns about users only through the graph (User @key) and through events, never by SQL");
}
