/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "mutation Register($input: RegisterInput!) {\n  register(input: $input) {\n    token\n    user {\n      ...UserFields\n    }\n  }\n}\n\nmutation Login($email: String!, $password: String!) {\n  login(email: $email, password: $password) {\n    token\n    user {\n      ...UserFields\n    }\n  }\n}\n\nquery Me {\n  me {\n    ...UserFields\n  }\n}": typeof types.RegisterDocument,
    "query Products($first: Int = 20, $after: String, $categoryId: ID) {\n  products(first: $first, after: $after, categoryId: $categoryId) {\n    totalCount\n    pageInfo {\n      ...PageInfoFields\n    }\n    edges {\n      cursor\n      node {\n        ...ProductSummary\n      }\n    }\n  }\n}\n\nquery Product($id: ID!) {\n  product(id: $id) {\n    ...ProductSummary\n    description\n    stock\n  }\n}\n\nquery Categories {\n  categories {\n    id\n    name\n    slug\n  }\n}\n\nquery Search($query: String!, $filter: SearchFilter, $first: Int = 20, $after: String) {\n  search(query: $query, filter: $filter, first: $first, after: $after) {\n    totalCount\n    pageInfo {\n      ...PageInfoFields\n    }\n    edges {\n      cursor\n      node {\n        ...ProductSummary\n      }\n    }\n  }\n}": typeof types.ProductsDocument,
    "fragment MoneyFields on Money {\n  amount\n  currency\n}\n\nfragment UserFields on User {\n  id\n  email\n  name\n  role\n  createdAt\n}\n\nfragment PageInfoFields on PageInfo {\n  hasNextPage\n  endCursor\n}\n\nfragment ProductSummary on Product {\n  id\n  sku\n  name\n  price {\n    ...MoneyFields\n  }\n  category {\n    id\n    name\n    slug\n  }\n  inStock\n}": typeof types.MoneyFieldsFragmentDoc,
    "query MyNotifications($first: Int = 20) {\n  me {\n    id\n    notifications(first: $first) {\n      id\n      channel\n      subject\n      body\n      createdAt\n    }\n  }\n}": typeof types.MyNotificationsDocument,
    "fragment OrderDetails on Order {\n  id\n  status\n  createdAt\n  total {\n    ...MoneyFields\n  }\n  items {\n    quantity\n    unitPrice {\n      ...MoneyFields\n    }\n    product {\n      id\n      sku\n      name\n    }\n  }\n  timeline {\n    at\n    step\n    status\n    detail\n  }\n  payment {\n    id\n    status\n    amount {\n      ...MoneyFields\n    }\n    createdAt\n  }\n}\n\nmutation PlaceOrder($input: PlaceOrderInput!) {\n  placeOrder(input: $input) {\n    id\n    status\n    createdAt\n    total {\n      ...MoneyFields\n    }\n  }\n}\n\nquery Order($id: ID!) {\n  order(id: $id) {\n    ...OrderDetails\n  }\n}\n\nquery MyOrders($first: Int = 20, $after: String) {\n  me {\n    id\n    orders(first: $first, after: $after) {\n      totalCount\n      pageInfo {\n        ...PageInfoFields\n      }\n      edges {\n        cursor\n        node {\n          id\n          status\n          createdAt\n          total {\n            ...MoneyFields\n          }\n        }\n      }\n    }\n  }\n}": typeof types.OrderDetailsFragmentDoc,
};
const documents: Documents = {
    "mutation Register($input: RegisterInput!) {\n  register(input: $input) {\n    token\n    user {\n      ...UserFields\n    }\n  }\n}\n\nmutation Login($email: String!, $password: String!) {\n  login(email: $email, password: $password) {\n    token\n    user {\n      ...UserFields\n    }\n  }\n}\n\nquery Me {\n  me {\n    ...UserFields\n  }\n}": types.RegisterDocument,
    "query Products($first: Int = 20, $after: String, $categoryId: ID) {\n  products(first: $first, after: $after, categoryId: $categoryId) {\n    totalCount\n    pageInfo {\n      ...PageInfoFields\n    }\n    edges {\n      cursor\n      node {\n        ...ProductSummary\n      }\n    }\n  }\n}\n\nquery Product($id: ID!) {\n  product(id: $id) {\n    ...ProductSummary\n    description\n    stock\n  }\n}\n\nquery Categories {\n  categories {\n    id\n    name\n    slug\n  }\n}\n\nquery Search($query: String!, $filter: SearchFilter, $first: Int = 20, $after: String) {\n  search(query: $query, filter: $filter, first: $first, after: $after) {\n    totalCount\n    pageInfo {\n      ...PageInfoFields\n    }\n    edges {\n      cursor\n      node {\n        ...ProductSummary\n      }\n    }\n  }\n}": types.ProductsDocument,
    "fragment MoneyFields on Money {\n  amount\n  currency\n}\n\nfragment UserFields on User {\n  id\n  email\n  name\n  role\n  createdAt\n}\n\nfragment PageInfoFields on PageInfo {\n  hasNextPage\n  endCursor\n}\n\nfragment ProductSummary on Product {\n  id\n  sku\n  name\n  price {\n    ...MoneyFields\n  }\n  category {\n    id\n    name\n    slug\n  }\n  inStock\n}": types.MoneyFieldsFragmentDoc,
    "query MyNotifications($first: Int = 20) {\n  me {\n    id\n    notifications(first: $first) {\n      id\n      channel\n      subject\n      body\n      createdAt\n    }\n  }\n}": types.MyNotificationsDocument,
    "fragment OrderDetails on Order {\n  id\n  status\n  createdAt\n  total {\n    ...MoneyFields\n  }\n  items {\n    quantity\n    unitPrice {\n      ...MoneyFields\n    }\n    product {\n      id\n      sku\n      name\n    }\n  }\n  timeline {\n    at\n    step\n    status\n    detail\n  }\n  payment {\n    id\n    status\n    amount {\n      ...MoneyFields\n    }\n    createdAt\n  }\n}\n\nmutation PlaceOrder($input: PlaceOrderInput!) {\n  placeOrder(input: $input) {\n    id\n    status\n    createdAt\n    total {\n      ...MoneyFields\n    }\n  }\n}\n\nquery Order($id: ID!) {\n  order(id: $id) {\n    ...OrderDetails\n  }\n}\n\nquery MyOrders($first: Int = 20, $after: String) {\n  me {\n    id\n    orders(first: $first, after: $after) {\n      totalCount\n      pageInfo {\n        ...PageInfoFields\n      }\n      edges {\n        cursor\n        node {\n          id\n          status\n          createdAt\n          total {\n            ...MoneyFields\n          }\n        }\n      }\n    }\n  }\n}": types.OrderDetailsFragmentDoc,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation Register($input: RegisterInput!) {\n  register(input: $input) {\n    token\n    user {\n      ...UserFields\n    }\n  }\n}\n\nmutation Login($email: String!, $password: String!) {\n  login(email: $email, password: $password) {\n    token\n    user {\n      ...UserFields\n    }\n  }\n}\n\nquery Me {\n  me {\n    ...UserFields\n  }\n}"): (typeof documents)["mutation Register($input: RegisterInput!) {\n  register(input: $input) {\n    token\n    user {\n      ...UserFields\n    }\n  }\n}\n\nmutation Login($email: String!, $password: String!) {\n  login(email: $email, password: $password) {\n    token\n    user {\n      ...UserFields\n    }\n  }\n}\n\nquery Me {\n  me {\n    ...UserFields\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Products($first: Int = 20, $after: String, $categoryId: ID) {\n  products(first: $first, after: $after, categoryId: $categoryId) {\n    totalCount\n    pageInfo {\n      ...PageInfoFields\n    }\n    edges {\n      cursor\n      node {\n        ...ProductSummary\n      }\n    }\n  }\n}\n\nquery Product($id: ID!) {\n  product(id: $id) {\n    ...ProductSummary\n    description\n    stock\n  }\n}\n\nquery Categories {\n  categories {\n    id\n    name\n    slug\n  }\n}\n\nquery Search($query: String!, $filter: SearchFilter, $first: Int = 20, $after: String) {\n  search(query: $query, filter: $filter, first: $first, after: $after) {\n    totalCount\n    pageInfo {\n      ...PageInfoFields\n    }\n    edges {\n      cursor\n      node {\n        ...ProductSummary\n      }\n    }\n  }\n}"): (typeof documents)["query Products($first: Int = 20, $after: String, $categoryId: ID) {\n  products(first: $first, after: $after, categoryId: $categoryId) {\n    totalCount\n    pageInfo {\n      ...PageInfoFields\n    }\n    edges {\n      cursor\n      node {\n        ...ProductSummary\n      }\n    }\n  }\n}\n\nquery Product($id: ID!) {\n  product(id: $id) {\n    ...ProductSummary\n    description\n    stock\n  }\n}\n\nquery Categories {\n  categories {\n    id\n    name\n    slug\n  }\n}\n\nquery Search($query: String!, $filter: SearchFilter, $first: Int = 20, $after: String) {\n  search(query: $query, filter: $filter, first: $first, after: $after) {\n    totalCount\n    pageInfo {\n      ...PageInfoFields\n    }\n    edges {\n      cursor\n      node {\n        ...ProductSummary\n      }\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment MoneyFields on Money {\n  amount\n  currency\n}\n\nfragment UserFields on User {\n  id\n  email\n  name\n  role\n  createdAt\n}\n\nfragment PageInfoFields on PageInfo {\n  hasNextPage\n  endCursor\n}\n\nfragment ProductSummary on Product {\n  id\n  sku\n  name\n  price {\n    ...MoneyFields\n  }\n  category {\n    id\n    name\n    slug\n  }\n  inStock\n}"): (typeof documents)["fragment MoneyFields on Money {\n  amount\n  currency\n}\n\nfragment UserFields on User {\n  id\n  email\n  name\n  role\n  createdAt\n}\n\nfragment PageInfoFields on PageInfo {\n  hasNextPage\n  endCursor\n}\n\nfragment ProductSummary on Product {\n  id\n  sku\n  name\n  price {\n    ...MoneyFields\n  }\n  category {\n    id\n    name\n    slug\n  }\n  inStock\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query MyNotifications($first: Int = 20) {\n  me {\n    id\n    notifications(first: $first) {\n      id\n      channel\n      subject\n      body\n      createdAt\n    }\n  }\n}"): (typeof documents)["query MyNotifications($first: Int = 20) {\n  me {\n    id\n    notifications(first: $first) {\n      id\n      channel\n      subject\n      body\n      createdAt\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment OrderDetails on Order {\n  id\n  status\n  createdAt\n  total {\n    ...MoneyFields\n  }\n  items {\n    quantity\n    unitPrice {\n      ...MoneyFields\n    }\n    product {\n      id\n      sku\n      name\n    }\n  }\n  timeline {\n    at\n    step\n    status\n    detail\n  }\n  payment {\n    id\n    status\n    amount {\n      ...MoneyFields\n    }\n    createdAt\n  }\n}\n\nmutation PlaceOrder($input: PlaceOrderInput!) {\n  placeOrder(input: $input) {\n    id\n    status\n    createdAt\n    total {\n      ...MoneyFields\n    }\n  }\n}\n\nquery Order($id: ID!) {\n  order(id: $id) {\n    ...OrderDetails\n  }\n}\n\nquery MyOrders($first: Int = 20, $after: String) {\n  me {\n    id\n    orders(first: $first, after: $after) {\n      totalCount\n      pageInfo {\n        ...PageInfoFields\n      }\n      edges {\n        cursor\n        node {\n          id\n          status\n          createdAt\n          total {\n            ...MoneyFields\n          }\n        }\n      }\n    }\n  }\n}"): (typeof documents)["fragment OrderDetails on Order {\n  id\n  status\n  createdAt\n  total {\n    ...MoneyFields\n  }\n  items {\n    quantity\n    unitPrice {\n      ...MoneyFields\n    }\n    product {\n      id\n      sku\n      name\n    }\n  }\n  timeline {\n    at\n    step\n    status\n    detail\n  }\n  payment {\n    id\n    status\n    amount {\n      ...MoneyFields\n    }\n    createdAt\n  }\n}\n\nmutation PlaceOrder($input: PlaceOrderInput!) {\n  placeOrder(input: $input) {\n    id\n    status\n    createdAt\n    total {\n      ...MoneyFields\n    }\n  }\n}\n\nquery Order($id: ID!) {\n  order(id: $id) {\n    ...OrderDetails\n  }\n}\n\nquery MyOrders($first: Int = 20, $after: String) {\n  me {\n    id\n    orders(first: $first, after: $after) {\n      totalCount\n      pageInfo {\n        ...PageInfoFields\n      }\n      edges {\n        cursor\n        node {\n          id\n          status\n          createdAt\n          total {\n            ...MoneyFields\n          }\n        }\n      }\n    }\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;