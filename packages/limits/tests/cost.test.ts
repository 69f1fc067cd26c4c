import { parse } from "graphql";
import { describe, expect, it } from "vitest";
import { costConfigFromSdl, mergeCostConfig, operationCost, parseCostConfig, type CostConfigInput } from "../src/index.ts";
import { fragmentBomb, schema } from "./fixtures.ts";

const CONFIG: CostConfigInput = {
  fields: {
    "Query.products": { listSize: { slicingArguments: ["first"], sizedFields: ["edges"] } },
    "User.orders": { listSize: { slicingArguments: ["first"], sizedFields: ["edges"] } },
    "Order.items": { listSize: { assumedSize: 5 } },
    "Product.reviews": { listSize: { slicingArguments: ["last"], assumedSize: 3 } },
    "Query._entities": { listSize: { slicingArguments: ["representations"] } },
  },
};

const cost = (query: string, variables: Record<string, unknown> = {}, config: CostConfigInput = CONFIG, operationName?: string) =>
  operationCost({ schema, document: parse(query), variables, config, operationName });

describe("operationCost", () => {
  it("weighs each object 1 and each scalar 0", () => {
    expect(cost("{ me { id name } }")).toBe(1);
    expect(cost("{ me { id orders(first: 0) { totalCount } } }")).toBe(2);
  });

  it("multiplies a connection's edges by `first`: literal, variable or the argument's default", () => {
    // me 1 + orders 1 + first x (edge 1 + node 1)
    expect(cost("{ me { orders(first: 10) { edges { node { id } } } } }")).toBe(2 + 10 * 2);
    expect(cost("query ($n: Int) { me { orders(first: $n) { edges { node { id } } } } }", { n: 50 })).toBe(2 + 50 * 2);
    expect(cost("{ me { orders { edges { node { id } } } } }")).toBe(2 + 20 * 2);
    // Only edges are sized: totalCount and the connection itself count once.
    expect(cost("{ me { orders(first: 10) { totalCount edges { cursor } } } }")).toBe(2 + 10);
  });

  it("multiplies nested lists: the cost of a cyclic query grows with every level", () => {
    const level = (inner: string) => `orders(first: 10) { edges { node { buyer { ${inner} } } } }`;
    const two = cost(`{ me { ${level(level("id"))} } }`);
    // me + orders + 10 x (edge + node + buyer + orders + 10 x (edge + node + buyer))
    expect(two).toBe(2 + 10 * (3 + 1 + 10 * 3));
    expect(cost(`{ me { ${level(level(level("id")))} } }`)).toBeGreaterThan(two * 9);
  });

  it("uses the assumed size, then the default list size, when no slicing argument is given", () => {
    // items: assumed 5; tags: String list (leaves weigh 0); grid: two list levels of the default 10
    expect(cost("{ me { orders(first: 1) { edges { node { items { quantity } } } } } }")).toBe(2 + 1 * (2 + 5));
    expect(cost("{ grid { amount } }")).toBe(10 * 10);
    expect(cost("{ grid { amount } }", {}, { defaultListSize: 3 })).toBe(9);
    expect(cost("{ node(id: 1) { ... on Product { reviews { stars } } } }")).toBe(1 + 3);
    expect(cost("{ node(id: 1) { ... on Product { reviews(last: 7) { stars } } } }")).toBe(1 + 7);
  });

  it("never lowers the cost with a negative or fractional size", () => {
    const big = "{ me { orders(first: 100) { edges { node { id } } } } }";
    expect(cost(`{ ${big.slice(1, -1)} p: products(first: -1000) { edges { node { id } } } }`)).toBe(cost(big) + 1);
    expect(cost("query ($n: Int) { me { orders(first: $n) { edges { node { id } } } } }", { n: 2.5 })).toBe(2 + 20 * 2);
  });

  it("sizes _entities by the number of representations", () => {
    const query =
      "query ($r: [String!]!) { _entities(representations: $r) { ... on User { orders(first: 2) { edges { node { id } } } } } }";
    expect(cost(query, { r: ["a", "b", "c"] })).toBe(3 * (1 + 1 + 2 * 2));
  });

  it("takes the most expensive possible type of a union or an interface", () => {
    const query =
      '{ search(query: "x") { ... on Product { price { amount } } ... on User { orders(first: 5) { edges { node { id } } } } } }';
    // 10 results x max(Product 1 + price 1, User 1 + orders 1 + 5 x 2)
    expect(cost(query)).toBe(10 * 12);
    expect(cost("{ node(id: 1) { id } }")).toBe(1);
  });

  it("adds field and type weights, and the mutation weight to root mutation fields", () => {
    expect(cost('mutation { login(email: "a", password: "b") { id } }')).toBe(10 + 1);
    expect(cost('mutation { a: login(email: "a", password: "b") { id } b: login(email: "a", password: "b") { id } }')).toBe(22);
    expect(cost("{ me { id } }", {}, { fields: { "Query.me": { weight: 7 } } })).toBe(7);
    expect(cost("{ me { orders(first: 2) { edges { node { total { amount } } } } } }", {}, { ...CONFIG, types: { Money: 3 } })).toBe(
      2 + 2 * (2 + 3),
    );
  });

  it("leaves out what @skip and @include exclude, by variable", () => {
    const query = "query ($x: Boolean!) { me @include(if: $x) { orders(first: 10) { edges { node { id } } } } }";
    expect(cost(query, { x: true })).toBe(22);
    expect(cost(query, { x: false })).toBe(0);
  });

  it("is linear in fragment bombs (fragments are costed once per type)", () => {
    const started = performance.now();
    expect(cost(fragmentBomb(40))).toBe(0);
    const bomb = fragmentBomb(16).replace("__typename", "me { id }");
    expect(cost(bomb)).toBe(2 ** 16);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it("selects the named operation, and is 0 for an operation that is not there", () => {
    const doc = "query A { me { id } } query B { me { orders(first: 1) { edges { node { id } } } } }";
    expect(cost(doc, {}, CONFIG, "B")).toBe(4);
    expect(cost(doc, {}, CONFIG, "C")).toBe(0);
    expect(cost("subscription { me { id } }")).toBe(0);
  });

  it("falls back to assumed sizes when variables do not coerce", () => {
    expect(cost("query ($n: Int) { me { orders(first: $n) { edges { node { id } } } } }", { n: "many" })).toBe(2 + 20 * 2);
  });

  it("accepts a configuration parsed once", () => {
    const parsed = parseCostConfig(CONFIG);
    expect(operationCost({ schema, document: parse("{ me { orders(first: 3) { edges { node { id } } } } }"), config: parsed })).toBe(8);
  });
});

describe("cost annotations", () => {
  it("reads @cost and @listSize of an SDL, and configuration entries win over them", () => {
    const sdl = parse(/* GraphQL */ `
      type Money @cost(weight: 2) {
        amount: Int!
      }
      type Query {
        products(first: Int): [Money!]! @listSize(slicingArguments: ["first"], assumedSize: 30)
        expensive: Int @cost(weight: "5")
        conn(first: Int): Money @federation__listSize(slicingArguments: "first", sizedFields: ["edges"])
      }
      extend type User {
        friends: [Money!]! @listSize(assumedSize: 4)
      }
    `);
    const annotations = costConfigFromSdl(sdl);
    expect(annotations).toEqual({
      types: { Money: 2 },
      fields: {
        "Query.products": { listSize: { assumedSize: 30, slicingArguments: ["first"] } },
        "Query.expensive": { weight: 5 },
        "Query.conn": { listSize: { slicingArguments: ["first"], sizedFields: ["edges"] } },
        "User.friends": { listSize: { assumedSize: 4 } },
      },
    });
    const merged = mergeCostConfig(annotations, { fields: { "Query.expensive": { weight: 1 } } });
    expect(merged.fields["Query.expensive"]).toEqual({ weight: 1 });
    expect(merged.fields["Query.products"]?.listSize?.assumedSize).toBe(30);
    expect(merged.objectWeight).toBe(1);
  });
});
