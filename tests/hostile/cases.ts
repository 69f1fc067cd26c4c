/**
 * The hostile-input cases as data tables, one table per category. Each case says what answer it deserves: data
 * (a correct result) or a refusal with its code (docs/API.md, Apollo's standard codes). `noSubgraphCall` marks the
 * bombs the gateway must refuse before calling any subgraph (checked with the fault proxies' counters).
 *
 * Limits in force are the gateway's defaults (GATEWAY_LIMIT_DEFAULTS): tokens 2000, nesting 32, depth 12,
 * aliases 30, root fields 20, directives 50, fields 1000, cost 25000, 10 operations per batch.
 */
import { createHash } from "node:crypto";
import { demoOrders, demoProducts, demoUsers } from "@ecom/demo-data";
import type { AnswerBody, HostileCase } from "./support.ts";

const TOO = { codes: ["QUERY_TOO_COMPLEX"], status: [400] } as const;
const PARSE = { codes: ["GRAPHQL_PARSE_FAILED"], status: [400] } as const;
const INVALID = { codes: ["GRAPHQL_VALIDATION_FAILED"], status: [400] } as const;
const BAD_REQUEST = { codes: ["BAD_REQUEST"], status: [400] } as const;
const BAD_INPUT = { codes: ["BAD_USER_INPUT"] } as const;
/** A variable of the wrong type: Apollo answers BAD_USER_INPUT (coercion), some shapes fail validation first. */
const BAD_VARIABLE = { codes: ["BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"], status: [400] } as const;
const UNAUTHENTICATED = { codes: ["UNAUTHENTICATED"], status: [401] } as const;
const FORBIDDEN = { codes: ["FORBIDDEN"] } as const;
const DATA = { data: true } as const;

export const alice = demoUsers.find((u) => u.email === "alice@example.com")!;
export const bob = demoUsers.find((u) => u.email === "bob@example.com")!;
export const bobsOrder = demoOrders.find((o) => o.buyerId === bob.id)!;
export const aliceOrder = demoOrders.find((o) => o.buyerId === alice.id)!;
const product = demoProducts[0]!;

type Case = Omit<HostileCase, "category">;

/** The SHA-256 of an APQ query text. */
export const apqHash = (query: string) => createHash("sha256").update(query).digest("hex");
const q = (query: string, variables?: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  query,
  ...(variables ? { variables } : {}),
  ...extra,
});
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** `me { orders { edges { node { buyer { ...` n levels: the incident's cycle (depth 1 + 4n + 1). */
export const orderCycle = (levels: number, leaf = "id") =>
  `{ me { ${"orders { edges { node { buyer { ".repeat(levels)}${leaf}${" } } } }".repeat(levels)} } }`;

/** The incident: about 40 branches of the cycle, each a few levels deep. */
export const incidentQuery = (branches = 40, levels = 3) =>
  `{ me { ${range(branches)
    .map((i) => `b${i}: orders { edges { node { ${"buyer { orders { edges { node { ".repeat(levels)}id${" } } } }".repeat(levels)} } } }`)
    .join(" ")} } }`;

const transport: Case[] = [
  ...["PUT", "DELETE", "PATCH"].map((method) => ({
    name: `${method} is not a GraphQL method`,
    method,
    json: q("{ __typename }"),
    expect: { codes: ["BAD_REQUEST"], status: [405] },
  })),
  {
    name: "text/plain POST (a form a browser sends without preflight)",
    raw: JSON.stringify(q("{ __typename }")),
    headers: { "content-type": "text/plain" },
    expect: BAD_REQUEST,
  },
  {
    name: "url-encoded form POST",
    raw: `query=${encodeURIComponent("{ __typename }")}`,
    headers: { "content-type": "application/x-www-form-urlencoded" },
    expect: BAD_REQUEST,
  },
  {
    name: "multipart POST",
    raw: '--x\r\ncontent-disposition: form-data; name="query"\r\n\r\n{ __typename }\r\n--x--',
    headers: { "content-type": "multipart/form-data; boundary=x" },
    expect: BAD_REQUEST,
  },
  { name: "POST without content-type", raw: JSON.stringify(q("{ __typename }")), expect: BAD_REQUEST },
  { name: "empty JSON body", raw: "", headers: { "content-type": "application/json" }, expect: BAD_REQUEST },
  ...["{", '{"query": ', '{"query": "{ __typename }",}', "[1,", "nul", '"\\ud800', "{'query': 1}", "\u0000", '{"query": "x"}}', "}{"].map(
    (raw, i) => ({
      name: `malformed JSON #${i + 1}`,
      raw,
      headers: { "content-type": "application/json" },
      expect: BAD_REQUEST,
    }),
  ),
  ...[null, 42, "a string", true, {}, []].map((json) => ({
    name: `body ${JSON.stringify(json)}`,
    json,
    expect: { codes: ["BAD_REQUEST"], status: [400] },
  })),
  ...[42, { a: 1 }, ["{ me { id } }"], null, true].map((query) => ({
    name: `query ${JSON.stringify(query)}`,
    json: { query },
    expect: BAD_REQUEST,
  })),
  ...["a string", [1, 2], 42].map((variables) => ({
    name: `variables ${JSON.stringify(variables)}`,
    json: { query: "{ __typename }", variables },
    expect: BAD_REQUEST,
  })),
  ...["garbage", [1]].map((extensions) => ({
    name: `extensions ${JSON.stringify(extensions)}`,
    json: { query: "{ __typename }", extensions },
    expect: BAD_REQUEST,
  })),
  { name: "a 2 MB body", json: q(`{ __typename } # ${"x".repeat(2 * 1024 * 1024)}`), expect: { codes: ["BAD_REQUEST"], status: [413] } },
  {
    name: "a 40 kB header",
    json: q("{ __typename }"),
    headers: { "x-filler": "y".repeat(40_000) },
    expect: { codes: ["HTTP_431"], status: [431] },
  },
  {
    name: "a GET without a preflight header (CSRF)",
    method: "GET",
    path: `/graphql?query=${encodeURIComponent("{ __typename }")}`,
    expect: BAD_REQUEST,
  },
  {
    name: "a mutation over GET",
    method: "GET",
    path: `/graphql?query=${encodeURIComponent('mutation { login(email: "a@b.c", password: "x") { token } }')}`,
    headers: { "apollo-require-preflight": "1" },
    expect: { codes: ["BAD_REQUEST"], status: [405, 400] },
  },
  {
    name: "a GET with variables that are not JSON",
    method: "GET",
    path: `/graphql?query=${encodeURIComponent("{ __typename }")}&variables=%7Bnope`,
    headers: { "apollo-require-preflight": "1" },
    expect: BAD_REQUEST,
  },
  {
    name: "a GET query",
    method: "GET",
    path: `/graphql?query=${encodeURIComponent("{ categories { id } }")}`,
    headers: { "apollo-require-preflight": "1" },
    expect: DATA,
  },
  { name: "an unknown path", path: "/graphql/../admin", json: q("{ __typename }"), expect: { codes: ["NOT_FOUND"], status: [404] } },
  {
    name: "an unknown path with a stack-looking name",
    path: "/%c0%ae%c0%ae/etc/passwd",
    json: q("{ __typename }"),
    expect: { codes: ["NOT_FOUND", "BAD_REQUEST"], status: [404, 400] },
  },
  {
    name: "a charset that is not supported",
    raw: JSON.stringify(q("{ __typename }")),
    headers: { "content-type": "application/json; charset=ebcdic" },
    expect: { codes: ["BAD_REQUEST"], status: [415, 400] },
  },
  {
    name: "a gzip body that is not gzip",
    raw: "not gzip",
    headers: { "content-type": "application/json", "content-encoding": "gzip" },
    expect: BAD_REQUEST,
  },
  { name: "a well-formed request", json: q("{ categories { slug } }"), expect: DATA },
];

const syntax: Case[] = [
  ...[
    "{",
    "}",
    "{ me { id }",
    "{ me { id } } }",
    'query { search(query: "unterminated) { totalCount } }',
    "query Q($) { me { id } }",
    "{ me(: 1) { id } }",
    "fragment on User { id }",
    "{ ...on }",
    "query query query",
    "{ me { id } } garbage",
    "{ 1me { id } }",
    "{ me @ { id } }",
    "{ me { id # a comment that never ends",
    '{ search(query: "\\u{110000}") { totalCount } }',
    '{ search(query: "\\x41") { totalCount } }',
    "{ search(query: 1.2.3) { totalCount } }",
    "{ products(first: 0x10) { totalCount } }",
    "\u00a0{ me { id } }\u2028",
    "schema { query: Query }",
    "type Evil { id: ID }",
    "extend type Query { evil: String }",
    "directive @evil on FIELD",
    "{ me { id } } { me { id } }",
    "#only a comment",
    "   ",
    "{ products(first: 99999999999999999999) { totalCount } }",
    '{ search(query: """unterminated block) { totalCount } }',
    `{ ${"x".repeat(10_000)} }`,
    "query ($a: [[[[Int]]]]!) { me { id } }",
  ].map((query, i) => ({
    name: `syntax #${i + 1}: ${JSON.stringify(query.slice(0, 40))}`,
    json: q(query),
    expect: {
      codes: [
        "GRAPHQL_PARSE_FAILED",
        "GRAPHQL_VALIDATION_FAILED",
        "BAD_REQUEST",
        "BAD_USER_INPUT",
        "OPERATION_RESOLUTION_FAILURE",
        "QUERY_TOO_COMPLEX",
      ],
      status: [400],
    },
  })),
  { name: "an empty query", json: q(""), expect: BAD_REQUEST },
  { name: "a parse error names no internals", json: q("{ me { id "), expect: PARSE },
];

const depth: Case[] = [
  ...[1, 2].map((levels) => ({
    name: `the cycle ${levels} level(s) deep is served`,
    as: "alice" as const,
    json: q(orderCycle(levels)),
    expect: DATA,
  })),
  ...[3, 4, 5, 8, 12, 25, 50, 100].map((levels) => ({
    name: `the cycle ${levels} levels deep`,
    as: "alice" as const,
    json: q(orderCycle(levels)),
    expect: TOO,
    noSubgraphCall: true,
  })),
  ...[20, 40, 80].map((n) => ({
    name: `a depth of ${n} through fragments`,
    json: q(
      `{ me { ...F0 } } ${range(n)
        .map((i) => `fragment F${i} on User { orders { edges { node { buyer { ${i + 1 < n ? `...F${i + 1}` : "id"} } } } } }`)
        .join(" ")}`,
    ),
    expect: TOO,
    noSubgraphCall: true,
  })),
  ...[30, 60, 500, 5000].map((n) => ({
    name: `__type with ofType ${n} deep`,
    json: q(`{ __type(name: "User") { ${"ofType { ".repeat(n)}name${" }".repeat(n)} } }`),
    expect: { codes: ["QUERY_TOO_COMPLEX", "GRAPHQL_VALIDATION_FAILED"], status: [400] },
    noSubgraphCall: true,
  })),
  ...[1000, 10_000, 100_000].map((n) => ({
    name: `selections ${n} braces deep`,
    json: q(`{ me ${"{ me ".repeat(n)}${"}".repeat(n + 1)}`),
    expect: TOO,
    noSubgraphCall: true,
  })),
  ...[1000, 10_000].map((n) => ({
    name: `a list literal ${n} deep`,
    json: q(`{ search(query: ${"[".repeat(n)}"x"${"]".repeat(n)}) { totalCount } }`),
    expect: TOO,
    noSubgraphCall: true,
  })),
  ...[1000, 10_000].map((n) => ({
    name: `an object literal ${n} deep`,
    json: q(`{ search(query: "x", filter: ${"{ a: ".repeat(n)}1${" }".repeat(n)}) { totalCount } }`),
    expect: TOO,
    noSubgraphCall: true,
  })),
  { name: "the incident: 40 branches of the cycle", as: "alice", json: q(incidentQuery()), expect: TOO, noSubgraphCall: true },
  { name: "the incident, anonymous", json: q(incidentQuery()), expect: TOO, noSubgraphCall: true },
];

const aliases: Case[] = [
  ...[31, 50, 100, 1000, 10_000].map((n) => ({
    name: `${n} aliases of __typename`,
    json: q(
      `{ ${range(n)
        .map((i) => `a${i}: __typename`)
        .join(" ")} }`,
    ),
    expect: TOO,
    noSubgraphCall: true,
  })),
  ...[31, 100, 500].map((n) => ({
    name: `${n} aliased me`,
    as: "alice" as const,
    json: q(
      `{ ${range(n)
        .map((i) => `a${i}: me { id }`)
        .join(" ")} }`,
    ),
    expect: TOO,
    noSubgraphCall: true,
  })),
  ...[31, 100].map((n) => ({
    name: `login aliased ${n} times (password guessing in one request)`,
    json: q(
      `mutation { ${range(n)
        .map((i) => `l${i}: login(email: "alice@example.com", password: "guess${i}") { token }`)
        .join(" ")} }`,
    ),
    expect: TOO,
    noSubgraphCall: true,
  })),
  ...[21, 200].map((n) => ({
    name: `${n} aliased products(first: 100) pages`,
    json: q(
      `{ ${range(n)
        .map((i) => `p${i}: products(first: 100) { edges { node { id name } } }`)
        .join(" ")} }`,
    ),
    expect: TOO,
    noSubgraphCall: true,
  })),
  {
    name: "20 aliases are allowed",
    json: q(
      `{ ${range(20)
        .map((i) => `a${i}: __typename`)
        .join(" ")} }`,
    ),
    expect: DATA,
  },
  {
    name: "aliases hidden in a fragment",
    json: q(
      `{ ...F } fragment F on Query { ${range(40)
        .map((i) => `a${i}: __typename`)
        .join(" ")} }`,
    ),
    expect: TOO,
    noSubgraphCall: true,
  },
  { name: "one alias reused on conflicting fields", json: q("{ a: categories { id } a: products { totalCount } }"), expect: INVALID },
  {
    name: "an alias shadowing __typename",
    json: q("{ __typename: categories { id } }"),
    expect: { codes: ["GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED"], status: [400], orData: true },
  },
];

const fragments: Case[] = [
  ...[6, 8, 10, 12, 16, 20].map((n) => ({
    name: `a 2^${n} fragment expansion`,
    json: q(
      `{ ...F0 } ${range(n)
        .map((i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`)
        .join(" ")} fragment F${n} on Query { categories { id } }`,
    ),
    expect: TOO,
    noSubgraphCall: true,
  })),
  { name: "a fragment cycle", json: q("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"), expect: INVALID },
  { name: "a fragment spreading itself", json: q("{ ...A } fragment A on Query { categories { id } ...A }"), expect: INVALID },
  { name: "an unknown fragment", json: q("{ ...Nope }"), expect: INVALID },
  { name: "an unused fragment", json: q("{ categories { id } } fragment U on Query { categories { id } }"), expect: INVALID },
  { name: "a fragment on an unknown type", json: q("{ ...F } fragment F on Nope { id }"), expect: INVALID },
  { name: "a fragment on a type that cannot apply", json: q("{ ...F } fragment F on User { id }"), expect: INVALID },
  {
    name: "two fragments with one name",
    json: q("{ ...F } fragment F on Query { categories { id } } fragment F on Query { categories { slug } }"),
    expect: INVALID,
  },
  {
    name: "a 2,000-fragment chain",
    json: q(
      `{ ...F0 } ${range(2000)
        .map((i) => `fragment F${i} on Query { ${i + 1 < 2000 ? `...F${i + 1}` : "__typename"} }`)
        .join(" ")}`,
    ),
    expect: TOO,
    noSubgraphCall: true,
  },
  {
    name: "inline fragments 300 wide",
    json: q(
      `{ ${range(300)
        .map(() => "... on Query { __typename }")
        .join(" ")} }`,
    ),
    expect: { codes: ["QUERY_TOO_COMPLEX"], status: [400] },
    noSubgraphCall: true,
  },
  { name: "a fragment within the limits", json: q("{ ...F } fragment F on Query { categories { id slug } }"), expect: DATA },
  { name: "nested inline fragments within the limits", json: q("{ ... on Query { ... on Query { categories { slug } } } }"), expect: DATA },
];

const directives: Case[] = [
  ...[51, 200, 2000].map((n) => ({
    name: `${n} @include directives`,
    json: q(`{ categories ${"@include(if: true) ".repeat(n)}{ id } }`),
    expect: { codes: ["QUERY_TOO_COMPLEX", "GRAPHQL_VALIDATION_FAILED"], status: [400] },
    noSubgraphCall: true,
  })),
  ...[60, 500].map((n) => ({
    name: `${n} @skip across fields`,
    json: q(
      `{ ${range(n)
        .map((i) => `a${i}: __typename @skip(if: false)`)
        .join(" ")} }`,
    ),
    expect: TOO,
    noSubgraphCall: true,
  })),
  { name: "an unknown directive", json: q("{ categories @evil { id } }"), expect: INVALID },
  { name: "a directive in the wrong place", json: q("query @include(if: true) { categories { id } }"), expect: INVALID },
  { name: "@skip without its argument", json: q("{ categories @skip { id } }"), expect: INVALID },
  { name: "@skip with a string", json: q('{ categories @skip(if: "no") { id } }'), expect: INVALID },
  { name: "@skip with an undeclared variable", json: q("{ categories @skip(if: $x) { id } }"), expect: INVALID },
  { name: "@deprecated on a query field", json: q("{ categories @deprecated { id } }"), expect: INVALID },
  {
    name: "@defer (not supported here)",
    json: q("{ ... @defer { categories { id } } }"),
    expect: { codes: ["GRAPHQL_VALIDATION_FAILED", "BAD_REQUEST"], status: [400, 406] },
  },
  { name: "@stream (not supported here)", json: q("{ categories @stream { id } }"), expect: INVALID },
  { name: "a federation directive in a query", json: q('{ categories @key(fields: "id") { id } }'), expect: INVALID },
  { name: "@include false within the limits", json: q("{ categories @include(if: false) { id } __typename }"), expect: DATA },
];

const batching: Case[] = [
  ...[11, 50, 1000].map((n) => ({
    name: `a batch of ${n} operations`,
    json: range(n).map(() => q("{ __typename }")),
    expect: TOO,
    noSubgraphCall: true,
  })),
  ...[2, 10].map((n) => ({
    name: `a batch of ${n} (batching is off)`,
    json: range(n).map(() => q("{ categories { id } }")),
    expect: BAD_REQUEST,
    noSubgraphCall: true,
  })),
  {
    name: "a batch of login mutations",
    json: range(20).map((i) => q(`mutation { login(email: "alice@example.com", password: "g${i}") { token } }`)),
    expect: TOO,
    noSubgraphCall: true,
  },
  {
    name: "a batch with a bomb inside",
    json: [q("{ __typename }"), q(`{ ${"{ ".repeat(5000)}${"}".repeat(5000)} }`)],
    expect: { codes: ["QUERY_TOO_COMPLEX", "BAD_REQUEST"], status: [400] },
    noSubgraphCall: true,
  },
  { name: "a batch of non-objects", json: [1, 2, 3], expect: BAD_REQUEST },
  { name: "an empty batch", json: [], expect: BAD_REQUEST },
  {
    name: "several operations, operationName picks one",
    json: q("query A { categories { id } } query B { __typename }", undefined, { operationName: "B" }),
    expect: DATA,
  },
  {
    name: "several operations without operationName",
    json: q("query A { categories { id } } query B { __typename }"),
    expect: { codes: ["OPERATION_RESOLUTION_FAILURE"], status: [400] },
  },
  {
    name: "an unknown operationName",
    json: q("query A { categories { id } }", undefined, { operationName: "Nope" }),
    expect: { codes: ["OPERATION_RESOLUTION_FAILURE"], status: [400] },
  },
  {
    name: "an operationName of an empty string",
    json: q("query A { __typename }", undefined, { operationName: "" }),
    expect: { codes: ["OPERATION_RESOLUTION_FAILURE", "BAD_REQUEST"], status: [400] },
  },
  {
    name: "an operationName that is not a string",
    json: q("query A { __typename }", undefined, { operationName: 42 }),
    expect: BAD_REQUEST,
  },
  {
    name: "an APQ hash that does not match its query",
    json: q("{ __typename }", undefined, { extensions: { persistedQuery: { version: 1, sha256Hash: apqHash("{ categories { id } }") } } }),
    expect: BAD_REQUEST,
    noSubgraphCall: true,
  },
  {
    name: "an APQ version 2",
    json: q("{ __typename }", undefined, { extensions: { persistedQuery: { version: 2, sha256Hash: apqHash("{ __typename }") } } }),
    expect: BAD_REQUEST,
    noSubgraphCall: true,
  },
  {
    name: "an APQ hash that is not hex",
    json: { extensions: { persistedQuery: { version: 1, sha256Hash: "zz".repeat(32) } } },
    expect: BAD_REQUEST,
    noSubgraphCall: true,
  },
  {
    name: "an APQ persistedQuery that is not an object",
    json: { extensions: { persistedQuery: "yes" } },
    expect: BAD_REQUEST,
    noSubgraphCall: true,
  },
  {
    name: "an unknown APQ hash",
    json: { extensions: { persistedQuery: { version: 1, sha256Hash: apqHash("{ never sent }") } } },
    expect: { codes: ["PERSISTED_QUERY_NOT_FOUND"] },
    noSubgraphCall: true,
  },
  {
    name: "an APQ registration with its query",
    json: q("{ categories { slug } }", undefined, {
      extensions: { persistedQuery: { version: 1, sha256Hash: apqHash("{ categories { slug } }") } },
    }),
    expect: DATA,
  },
  {
    name: "21 root fields",
    json: q(
      `{ ${range(21)
        .map((i) => `c${i}: categories { id }`)
        .join(" ")} }`,
    ),
    expect: TOO,
    noSubgraphCall: true,
  },
];

const sizes: Case[] = [
  ...[2001, 5000, 50_000].map((n) => ({
    name: `${n} tokens`,
    json: q(`{ categories { ${"id ".repeat(n)} } }`),
    expect: TOO,
    noSubgraphCall: true,
  })),
  ...[2001, 20_000].map((n) => ({ name: `${n} commas are not tokens`, json: q(`{ categories { id ${",".repeat(n)} } }`), expect: DATA })),
  { name: "a document of comments only is no bomb", json: q(`# ${"x".repeat(100_000)}\n{ __typename }`), expect: DATA },
  ...[101, 1000, 1_000_000, -1].map((first) => ({
    name: `products(first: ${first})`,
    json: q(`{ products(first: ${first}) { totalCount } }`),
    expect: { codes: ["BAD_USER_INPUT", "QUERY_TOO_COMPLEX"] },
  })),
  { name: "products(first: 2^31)", json: q("{ products(first: 2147483648) { totalCount } }"), expect: INVALID },
  {
    name: "two 100-item pages are within the cost limit",
    json: q(
      '{ a: products(first: 100) { edges { node { id name description price { amount } category { name } } } } b: search(query: "a", first: 100) { edges { node { id name stock inStock } } } }',
    ),
    expect: DATA,
  },
  {
    name: "items of 100 orders of each buyer of 100 orders (cost)",
    as: "alice",
    json: q("{ me { orders(first: 100) { edges { node { buyer { orders(first: 100) { edges { node { items { quantity } } } } } } } } } }"),
    expect: TOO,
    noSubgraphCall: true,
  },
  {
    name: "a 300 kB search string",
    json: q("query S($q: String!) { search(query: $q) { totalCount } }", { q: "tent ".repeat(60_000) }),
    expect: BAD_INPUT,
  },
  {
    name: "a 500 kB name on register",
    json: q("mutation R($i: RegisterInput!) { register(input: $i) { token } }", {
      i: { email: "huge@example.com", password: "password123", name: "n".repeat(500_000) },
    }),
    expect: BAD_INPUT,
  },
  {
    name: "a 10,000-item variable list",
    json: q("query S($q: String!) { search(query: $q) { totalCount } }", { q: range(10_000) }),
    expect: BAD_VARIABLE,
  },
  { name: "5,000 unused variables", json: q("{ __typename }", Object.fromEntries(range(5000).map((i) => [`v${i}`, i]))), expect: DATA },
  {
    name: "a 1,000-field selection",
    json: q(
      `{ categories { ${range(1001)
        .map((i) => `f${i}: id`)
        .join(" ")} } }`,
    ),
    expect: TOO,
    noSubgraphCall: true,
  },
  {
    name: "notifications(first: 10000)",
    as: "alice",
    json: q("{ me { notifications(first: 10000) { id } } }"),
    expect: { codes: ["BAD_USER_INPUT", "QUERY_TOO_COMPLEX"] },
  },
  {
    name: "orders(first: 101)",
    as: "alice",
    json: q("{ me { orders(first: 101) { totalCount } } }"),
    expect: { codes: ["BAD_USER_INPUT", "QUERY_TOO_COMPLEX"] },
  },
  {
    name: "a cursor of 10 kB",
    json: q("query P($a: String) { products(first: 1, after: $a) { totalCount } }", { a: "A".repeat(10_000) }),
    expect: BAD_INPUT,
  },
];

const variables: Case[] = [
  ...[
    ["an object for a String", { q: { a: 1 } }],
    ["a number for a String", { q: 42 }],
    ["null for a non-null String", { q: null }],
    ["a missing required variable", {}],
    ["a list for a String", { q: ["a", "b"] }],
    ["a boolean for a String", { q: true }],
  ].map(([name, vars]) => ({
    name: String(name),
    json: q("query S($q: String!) { search(query: $q) { totalCount } }", vars as Record<string, unknown>),
    expect: BAD_VARIABLE,
  })),
  ...[
    ["a string for an Int", "20"],
    ["a float for an Int", 1.5],
    ["2^53 for an Int", 2 ** 53],
    ["an object for an Int", { valueOf: 1 }],
    ["NaN as a string", "NaN"],
  ].map(([name, first]) => ({
    name: String(name),
    json: q("query P($f: Int) { products(first: $f) { totalCount } }", { f: first }),
    expect: BAD_VARIABLE,
  })),
  ...[
    ["an unknown filter field", { categoryId: null, evil: 1 }],
    ["a string price", { minPrice: "cheap" }],
    ["__proto__ in an input", JSON.parse('{"__proto__": {"isAdmin": true}, "minPrice": 1}') as Record<string, unknown>],
    ["constructor in an input", { constructor: { prototype: { x: 1 } } }],
  ].map(([name, filter]) => ({
    name: String(name),
    json: q('query S($f: SearchFilter) { search(query: "tent", filter: $f) { totalCount } }', { f: filter }),
    expect: BAD_VARIABLE,
  })),
  {
    name: "a 1,000-level nested input",
    json: q('query S($f: SearchFilter) { search(query: "tent", filter: $f) { totalCount } }', {
      f: JSON.parse(`${'{"a":'.repeat(1000)}1${"}".repeat(1000)}`) as unknown,
    }),
    expect: TOO,
    noSubgraphCall: true,
  },
  { name: "a variable of an unknown type", json: q('query S($q: Nope) { search(query: "x") { totalCount } }', { q: 1 }), expect: INVALID },
  {
    name: "a variable of an output type",
    json: q('query S($q: Product) { search(query: "x") { totalCount } }', { q: 1 }),
    expect: INVALID,
  },
  { name: "an undeclared variable", json: q("{ search(query: $q) { totalCount } }", { q: "x" }), expect: INVALID },
  { name: "a declared, unused variable", json: q("query S($q: String) { __typename }", { q: "x" }), expect: INVALID },
  {
    name: "a variable used with the wrong type",
    json: q("query S($q: Int) { search(query: $q) { totalCount } }", { q: 1 }),
    expect: INVALID,
  },
  { name: "a default of the wrong type", json: q('query S($f: Int = "x") { products(first: $f) { totalCount } }'), expect: INVALID },
  {
    name: "an enum that does not exist (no suggestion)",
    json: q("query N($c: Channel) { __typename }", { c: "EMAL" }),
    expect: { codes: ["BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"], status: [400] },
  },
  {
    name: "an ID given as an object",
    json: q("query P($id: ID!) { product(id: $id) { id } }", { id: { $ne: null } }),
    expect: BAD_VARIABLE,
  },
  {
    name: "an ID given as a number is a string: no such product",
    json: q("query P($id: ID!) { product(id: $id) { id } }", { id: 12345 }),
    expect: { data: true, check: (b) => expectNull(b.data?.["product"]) },
  },
  {
    name: "a well-typed variable",
    json: q("query S($q: String!) { search(query: $q, first: 2) { totalCount } }", { q: "tent" }),
    expect: DATA,
  },
  {
    name: "variables with a 10,000-level JSON value",
    raw: JSON.stringify({ query: "query S($q: String!) { search(query: $q) { totalCount } }" }).replace(
      /}$/,
      `,"variables":{"q":${"[".repeat(10_000)}${"]".repeat(10_000)}}}`,
    ),
    headers: { "content-type": "application/json" },
    expect: TOO,
    noSubgraphCall: true,
  },
];

const unicode: Case[] = [
  ...[
    ["a lone high surrogate", "tent\uD800"],
    ["a lone low surrogate", "\uDC00tent"],
    ["reversed surrogates", "\uDC00\uD800"],
    ["a NUL", "te\u0000nt"],
    ["a NUL alone", "\u0000"],
  ].map(([name, value]) => ({
    name: `${name} in a search (variable)`,
    json: q("query S($q: String!) { search(query: $q) { totalCount } }", { q: value }),
    expect: BAD_INPUT,
  })),
  ...[
    ["a lone surrogate", "\\uD800"],
    ["a NUL", "\\u0000"],
  ].map(([name, escaped]) => ({
    name: `${name} in a search (literal)`,
    json: q(`{ search(query: "tent${escaped}") { totalCount } }`),
    // graphql-js refuses a lone surrogate escape while parsing; a NUL escape parses and the limits plugin refuses it.
    expect: { codes: ["BAD_USER_INPUT", "GRAPHQL_PARSE_FAILED"], status: [400] },
  })),
  ...[
    ["a lone surrogate in the name", { name: "Eve\uD83D" }],
    ["a NUL in the name", { name: "Eve\u0000" }],
    ["a lone surrogate in the email", { email: "eve\uDFFF@example.com" }],
    ["a NUL in the password", { password: "pass\u0000word123" }],
  ].map(([name, patch]) => ({
    name: `register with ${String(name)}`,
    json: q("mutation R($i: RegisterInput!) { register(input: $i) { token } }", {
      i: { email: "eve-unicode@example.com", password: "password123", name: "Eve", ...(patch as object) },
    }),
    expect: BAD_INPUT,
  })),
  {
    name: "a NUL in a login email",
    json: q('mutation L($e: String!) { login(email: $e, password: "password123") { token } }', { e: "alice@example.com\u0000" }),
    expect: { codes: ["BAD_USER_INPUT", "UNAUTHENTICATED"] },
  },
  ...[
    ["an RTL override", "tent\u202Eevil"],
    ["zero-width joiners", "t\u200De\u200Dn\u200Dt"],
    ["emoji", "⛺️🏕️"],
    ["combining marks", "te\u0301\u0301\u0301nt"],
    ["a BOM", "\uFEFFtent"],
    ["full-width letters", "ｔｅｎｔ"],
    ["a paired surrogate", "\uD83D\uDE00"],
    ["right-to-left script", "خيمة"],
  ].map(([name, value]) => ({
    name: `${name} in a search is a result`,
    json: q("query S($q: String!) { search(query: $q) { totalCount } }", { q: value }),
    expect: DATA,
  })),
  {
    name: "an operationName with a bidi override",
    json: q("query A { __typename }", undefined, { operationName: "A\u202Eevil" }),
    expect: BAD_REQUEST,
    noSubgraphCall: true,
  },
  {
    name: "an operationName with <script>",
    json: q("query A { __typename }", undefined, { operationName: "<script>alert(1)</script>" }),
    expect: BAD_REQUEST,
    noSubgraphCall: true,
  },
  {
    name: "an operationName of 10 kB",
    json: q("query A { __typename }", undefined, { operationName: "A".repeat(10_000) }),
    expect: BAD_REQUEST,
    noSubgraphCall: true,
  },
  {
    name: "an operationName with a NUL",
    json: q("query A { __typename }", undefined, { operationName: "A\u0000" }),
    expect: BAD_REQUEST,
    noSubgraphCall: true,
  },
  {
    name: "a body of invalid UTF-8",
    raw: Buffer.concat([
      Buffer.from('{"query":"{ search(query: \\"'),
      Buffer.from([0xc3, 0x28, 0xff]),
      Buffer.from('\\") { totalCount } }"}'),
    ]),
    headers: { "content-type": "application/json" },
    expect: { codes: ["BAD_USER_INPUT", "BAD_REQUEST"], orData: true },
  },
  {
    name: "a UTF-16 body",
    raw: Buffer.from(JSON.stringify(q("{ __typename }")), "utf16le"),
    headers: { "content-type": "application/json; charset=utf-16" },
    expect: { codes: ["BAD_REQUEST"], status: [400, 415], orData: true },
  },
  { name: "unicode escapes in a name are not names", json: q("{ \\u0063ategories { id } }"), expect: PARSE },
];

const sqlish = [
  "' OR '1'='1",
  "'; DROP TABLE products; --",
  '" OR ""="',
  "1; SELECT pg_sleep(10)--",
  "%' AND 1=0 UNION ALL SELECT 1 --",
  "\\'; --",
  "tent:* & !x",
  "a | b & (c",
  "$where",
  "<script>alert(1)</script>",
  "{{7*7}}",
  "${7*7}",
  "../../../../etc/passwd",
  "%00",
  "\r\nSet-Cookie: x=1",
];
const injection: Case[] = [
  ...sqlish.map((value) => ({
    name: `search for ${JSON.stringify(value)}`,
    json: q("query S($q: String!) { search(query: $q) { totalCount edges { node { id } } } }", { q: value }),
    expect: { ...BAD_INPUT, orData: true },
  })),
  ...sqlish.slice(0, 6).map((value) => ({
    name: `product(id: ${JSON.stringify(value)})`,
    json: q("query P($id: ID!) { product(id: $id) { id } }", { id: value }),
    expect: { data: true as const, check: (b: AnswerBody) => expectNull(b.data?.["product"]) },
  })),
  ...sqlish.slice(0, 4).map((value) => ({
    name: `login as ${JSON.stringify(value)}`,
    json: q("mutation L($e: String!, $p: String!) { login(email: $e, password: $p) { token } }", { e: value, p: value }),
    expect: { codes: ["UNAUTHENTICATED", "BAD_USER_INPUT"] },
  })),
  ...sqlish.slice(0, 4).map((value) => ({
    name: `a cursor of ${JSON.stringify(value)}`,
    json: q("query P($a: String) { products(first: 1, after: $a) { totalCount } }", { a: Buffer.from(value).toString("base64url") }),
    expect: BAD_INPUT,
  })),
  ...sqlish.slice(0, 3).map((value) => ({
    name: `order(id: ${JSON.stringify(value)}) as alice`,
    as: "alice" as const,
    json: q("query O($id: ID!) { order(id: $id) { id } }", { id: value }),
    expect: { codes: ["BAD_USER_INPUT", "NOT_FOUND"], orData: true },
  })),
  {
    name: "a categoryId filter injection",
    json: q('query S($f: SearchFilter) { search(query: "tent", filter: $f) { totalCount } }', { f: { categoryId: "1' OR '1'='1" } }),
    expect: BAD_INPUT,
  },
];

export function categories(tokens: { forged: Readonly<Record<string, string>> }): Record<string, Case[]> {
  const me = q("{ me { id email role } }");
  const auth: Case[] = [
    ...Object.entries(tokens.forged).map(([name, token]) => ({
      name: `a token ${name}`,
      json: me,
      headers: { authorization: `Bearer ${token}` },
      expect: UNAUTHENTICATED,
      noSubgraphCall: true,
    })),
    ...Object.entries(tokens.forged)
      .slice(0, 4)
      .map(([name, token]) => ({
        name: `a mutation with a token ${name}`,
        json: q('mutation { restock(productId: "' + product.id + '", quantity: 1000) { stock } }'),
        headers: { authorization: `Bearer ${token}` },
        expect: UNAUTHENTICATED,
        noSubgraphCall: true,
      })),
    ...[
      "Bearer",
      "Bearer ",
      "Basic YWxpY2U6cGFzc3dvcmQxMjM=",
      "Bearer a.b",
      "Bearer ..",
      `Bearer ${"a".repeat(8000)}`,
      "bearer\tx.y.z",
      "Token x.y.z",
    ].map((header) => ({
      name: `Authorization: ${header.slice(0, 30)}`,
      json: me,
      headers: { authorization: header },
      expect: { codes: ["UNAUTHENTICATED"], status: [401] },
    })),
    ...(
      [
        { "x-user-id": alice.id, "x-user-role": "ADMIN" },
        { "x-user-id": bob.id },
        { "x-internal-secret": "dev-internal-secret-change-me", "x-user-id": alice.id, "x-user-role": "ADMIN" },
        { "x-forwarded-for": "127.0.0.1", "x-user-role": "ADMIN" },
      ] as Array<Record<string, string>>
    ).map((headers, i) => ({
      name: `spoofed identity headers #${i + 1} are ignored`,
      json: me,
      headers,
      expect: { data: true as const, check: (b: { data?: Record<string, unknown> | null }) => expectNull(b.data?.["me"]) },
    })),
    {
      name: "a real token is accepted",
      as: "alice",
      json: me,
      expect: { data: true as const, check: (b) => expectEqual((b.data?.["me"] as { id?: string } | null)?.id, alice.id) },
    },
  ];

  const idor: Case[] = [
    {
      name: "alice reads bob's order: null",
      as: "alice",
      json: q("query O($id: ID!) { order(id: $id) { id total { amount } } }", { id: bobsOrder.id }),
      expect: { data: true as const, check: (b) => expectNull(b.data?.["order"]) },
    },
    {
      name: "anonymous reads bob's order: null",
      json: q("query O($id: ID!) { order(id: $id) { id } }", { id: bobsOrder.id }),
      expect: { data: true as const, check: (b) => expectNull(b.data?.["order"]) },
    },
    {
      name: "bob reads bob's order",
      as: "bob",
      json: q("query O($id: ID!) { order(id: $id) { id } }", { id: bobsOrder.id }),
      expect: { data: true as const, check: (b) => expectEqual((b.data?.["order"] as { id?: string } | null)?.id, bobsOrder.id) },
    },
    {
      name: "alice reads bob's order's buyer email through her own: not hers",
      as: "alice",
      json: q("query O($id: ID!) { order(id: $id) { buyer { email } } }", { id: aliceOrder.id }),
      expect: {
        data: true,
        check: (b) => expectEqual((b.data?.["order"] as { buyer?: { email?: string } } | null)?.buyer?.email, alice.email),
      },
    },
    {
      name: "_entities is not in the public schema",
      as: "alice",
      json: q(`{ _entities(representations: [{ __typename: "User", id: "${bob.id}" }]) { ... on User { email } } }`),
      expect: INVALID,
    },
    { name: "_service is not in the public schema", json: q("{ _service { sdl } }"), expect: INVALID },
    {
      name: "alice creates a product: FORBIDDEN",
      as: "alice",
      json: q(
        'mutation { createProduct(input: { sku: "EVIL-1", name: "Evil", description: "x", priceAmount: 1, categoryId: "' +
          product.categoryId +
          '" }) { id } }',
      ),
      expect: FORBIDDEN,
    },
    {
      name: "anonymous creates a product",
      json: q(
        'mutation { createProduct(input: { sku: "EVIL-2", name: "Evil", description: "x", priceAmount: 1, categoryId: "' +
          product.categoryId +
          '" }) { id } }',
      ),
      expect: { codes: ["UNAUTHENTICATED", "FORBIDDEN"] },
    },
    {
      name: "alice changes a price: FORBIDDEN",
      as: "alice",
      json: q('mutation { updateProduct(id: "' + product.id + '", input: { priceAmount: 1 }) { id } }'),
      expect: { codes: ["FORBIDDEN", "BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"] },
    },
    {
      name: "alice restocks: FORBIDDEN",
      as: "alice",
      json: q('mutation { restock(productId: "' + product.id + '", quantity: 1000) { stock } }'),
      expect: FORBIDDEN,
    },
    {
      name: "anonymous restocks",
      json: q('mutation { restock(productId: "' + product.id + '", quantity: 1000) { stock } }'),
      expect: { codes: ["UNAUTHENTICATED", "FORBIDDEN"] },
    },
    {
      name: "alice charges a card: FORBIDDEN",
      as: "alice",
      json: q(
        'mutation { chargePayment(input: { orderId: "' +
          bobsOrder.id +
          '", amount: 100, currency: "USD", paymentToken: "tok_visa", idempotencyKey: "evil-charge-1" }) { id } }',
      ),
      expect: { codes: ["FORBIDDEN", "GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT"] },
    },
    {
      name: "alice refunds bob's payment: FORBIDDEN",
      as: "alice",
      json: q('mutation { refundPayment(paymentId: "' + bobsOrder.id + '", idempotencyKey: "evil-refund-1") { id } }'),
      expect: { codes: ["FORBIDDEN", "NOT_FOUND"] },
    },
    {
      name: "anonymous places an order",
      json: q(
        'mutation { placeOrder(input: { items: [{ productId: "' +
          product.id +
          '", quantity: 1 }], paymentToken: "tok_visa", idempotencyKey: "anon-order-0001" }) { id } }',
      ),
      expect: { codes: ["UNAUTHENTICATED"] },
    },
    {
      name: "alice places an order with 0 items",
      as: "alice",
      json: q('mutation { placeOrder(input: { items: [], paymentToken: "tok_visa", idempotencyKey: "alice-empty-0001" }) { id } }'),
      expect: BAD_INPUT,
    },
    {
      name: "alice places an order with a negative quantity",
      as: "alice",
      json: q(
        'mutation { placeOrder(input: { items: [{ productId: "' +
          product.id +
          '", quantity: -5 }], paymentToken: "tok_visa", idempotencyKey: "alice-negative-01" }) { id } }',
      ),
      expect: BAD_INPUT,
    },
    {
      name: "alice places an order with a bad payment token",
      as: "alice",
      json: q(
        'mutation { placeOrder(input: { items: [{ productId: "' +
          product.id +
          '", quantity: 1 }], paymentToken: "tok_free_money", idempotencyKey: "alice-badtoken-01" }) { id } }',
      ),
      expect: BAD_INPUT,
    },
    {
      name: "alice reuses her own idempotency key with other items",
      as: "alice",
      json: q(
        'mutation { placeOrder(input: { items: [{ productId: "' +
          product.id +
          '", quantity: 7 }], paymentToken: "tok_visa", idempotencyKey: "' +
          aliceOrder.idempotencyKey +
          '" }) { id } }',
      ),
      expect: { codes: ["BAD_USER_INPUT"] },
    },
    {
      name: "alice marks bob's notification read",
      as: "alice",
      json: q('mutation { markNotificationRead(id: "' + bobsOrder.id + '") { id } }'),
      expect: { codes: ["NOT_FOUND", "BAD_USER_INPUT"] },
    },
    {
      name: "register an existing email",
      json: q('mutation { register(input: { email: "alice@example.com", password: "password123", name: "Mallory" }) { token } }'),
      expect: BAD_INPUT,
    },
    {
      name: "register as ADMIN through an extra field",
      json: q(
        'mutation { register(input: { email: "mallory@example.com", password: "password123", name: "Mallory", role: ADMIN }) { token } }',
      ),
      expect: INVALID,
    },
    {
      name: "login with a wrong password",
      json: q('mutation { login(email: "alice@example.com", password: "wrong-password") { token } }'),
      expect: { codes: ["UNAUTHENTICATED"] },
    },
  ];

  return { transport, syntax, depth, aliases, fragments, directives, batching, sizes, variables, unicode, injection, auth, idor };
}

function expectNull(value: unknown): void {
  if (value !== null && value !== undefined) throw new Error(`expected null, got ${JSON.stringify(value)}`);
}
function expectEqual(actual: unknown, expected: unknown): void {
  if (actual !== expected) throw new Error(`expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}
