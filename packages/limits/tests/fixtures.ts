import { buildSchema, parse, type DocumentNode, type OperationDefinitionNode } from "graphql";

/** A small schema shaped like the platform's: connections, plain lists, an interface, a union, mutations. */
export const SDL = /* GraphQL */ `
  interface Node {
    id: ID!
  }
  type Money {
    amount: Int!
    currency: String!
  }
  type Product implements Node {
    id: ID!
    name: String!
    price: Money!
    reviews(last: Int): [Review!]!
  }
  type Review implements Node {
    id: ID!
    stars: Int!
    author: User!
  }
  type User implements Node {
    id: ID!
    name: String!
    orders(first: Int = 20, after: String): OrderConnection!
    tags: [String!]!
  }
  type Order implements Node {
    id: ID!
    buyer: User!
    items: [OrderItem!]!
    total: Money!
  }
  type OrderItem {
    quantity: Int!
    product: Product!
  }
  type OrderConnection {
    edges: [OrderEdge!]!
    totalCount: Int!
  }
  type OrderEdge {
    cursor: String!
    node: Order!
  }
  type ProductConnection {
    edges: [ProductEdge!]!
    totalCount: Int!
  }
  type ProductEdge {
    node: Product!
  }
  union SearchResult = Product | User
  input Filter {
    name: String
    tags: [String!]
  }
  type Query {
    me: User
    products(first: Int = 20, filter: Filter): ProductConnection!
    node(id: ID!): Node
    search(query: String!): [SearchResult!]!
    grid: [[Money!]!]!
    _entities(representations: [String!]!): [SearchResult]!
  }
  type Mutation {
    login(email: String!, password: String!): User!
  }
`;

export const schema = buildSchema(SDL);

/** The document and its first (or named) operation. */
export function operationOf(query: string, name?: string): { document: DocumentNode; operation: OperationDefinitionNode } {
  const document = parse(query);
  const operation = document.definitions.find(
    (d): d is OperationDefinitionNode => d.kind === "OperationDefinition" && (name === undefined || d.name?.value === name),
  );
  if (!operation) throw new Error("no operation");
  return { document, operation };
}

/** `fragment F0 { ...F1 ...F1 } ... fragment Fn { __typename }` spread from the root: 2^n fields. */
export function fragmentBomb(n: number): string {
  let text = "query Bomb { ...F0 }\n";
  for (let i = 0; i < n; i++) text += `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }\n`;
  return `${text}fragment F${n} on Query { __typename }\n`;
}
