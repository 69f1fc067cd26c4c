import { existsSync, readFileSync } from "node:fs";
import { composeServices } from "@apollo/composition";
import { parse } from "graphql";
import { describe, expect, it } from "vitest";
import { typeDefs } from "../src/server.ts";

// The products subgraph defines the same shareable types with identical fields; search only references Product.
const minimalProducts = parse(/* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable"])
  type Product @key(fields: "id") {
    id: ID!
    name: String!
  }
  type PageInfo @shareable {
    hasNextPage: Boolean!
    endCursor: String
  }
  type ProductConnection @shareable {
    edges: [ProductEdge!]!
    pageInfo: PageInfo!
    totalCount: Int!
  }
  type ProductEdge @shareable {
    cursor: String!
    node: Product!
  }
  type Query {
    products(first: Int = 20, after: String): ProductConnection!
  }
`);

const realProductsSdl = new URL("../../products/src/schema.graphql", import.meta.url);

function compose(productsTypeDefs: ReturnType<typeof parse>) {
  return composeServices([
    { name: "products", url: "http://products/graphql", typeDefs: productsTypeDefs },
    { name: "search", url: "http://search/graphql", typeDefs },
  ]);
}

describe("search SDL composition", () => {
  it("composes with a products subgraph defining the same shareable connection types", () => {
    const result = compose(minimalProducts);
    expect(result.errors?.map((e) => e.message)).toBeUndefined();
    const sdl = result.supergraphSdl ?? "";
    expect(sdl).toMatch(/search\(query: String!, filter: SearchFilter, first: Int = 20, after: String\): ProductConnection!/);
    expect(sdl).toMatch(/input SearchFilter[^}]*categoryId: ID[^}]*minPrice: Int[^}]*maxPrice: Int[^}]*inStock: Boolean/s);
  });

  it.skipIf(!existsSync(realProductsSdl))("composes with the real products SDL", () => {
    const result = compose(parse(readFileSync(realProductsSdl, "utf8")));
    expect(result.errors?.map((e) => e.message)).toBeUndefined();
  });

  it("fails to compose when products' connection types differ (the check has teeth)", () => {
    const result = compose(
      parse(/* GraphQL */ `
        extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable"])
        type Product @key(fields: "id") {
          id: ID!
        }
        type PageInfo @shareable {
          hasNextPage: Boolean!
          endCursor: String
        }
        type ProductConnection {
          edges: [ProductEdge!]!
          pageInfo: PageInfo!
          totalCount: Int!
        }
        type ProductEdge @shareable {
          cursor: String!
          node: Product!
        }
        type Query {
          products: ProductConnection!
        }
      `),
    );
    expect(result.errors?.length ?? 0).toBeGreaterThan(0);
  });
});
