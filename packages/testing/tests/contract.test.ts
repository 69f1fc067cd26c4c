import { parse } from "graphql";
import { describe, expect, it } from "vitest";
import { compareSubgraphTypes } from "@ecom/testing";

describe("compareSubgraphTypes", () => {
  const file = parse(/* GraphQL */ `
    type User @key(fields: "id") {
      id: ID!
      notifications: [String!]!
    }
  `);

  it("ignores the Query of federation fields that buildSubgraphSchema adds to a subgraph without a Query", () => {
    const served = parse(/* GraphQL */ `
      type User @key(fields: "id") {
        id: ID!
        notifications: [String!]!
      }
      scalar _Any
      union _Entity = User
      type _Service {
        sdl: String
      }
      type Query {
        _entities(representations: [_Any!]!): [_Entity]!
        _service: _Service!
      }
    `);
    expect(compareSubgraphTypes(file, served)).toEqual([]);
  });

  it("still reports a served Query with a field the file does not declare", () => {
    const served = parse(/* GraphQL */ `
      type User @key(fields: "id") {
        id: ID!
        notifications: [String!]!
      }
      type Query {
        _service: String
        secret: String
      }
    `);
    expect(compareSubgraphTypes(file, served)).toEqual(["unexpected type Query"]);
  });
});
