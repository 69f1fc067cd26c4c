import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { Kind, print, type DocumentNode } from "graphql";

/** One error of a GraphQL response, as the gateway formats it. */
export interface GraphQLResponseError {
  message: string;
  path?: ReadonlyArray<string | number>;
  extensions?: { code?: string; serviceName?: string; [key: string]: unknown };
}

/**
 * A request that did not give complete data: the response had `errors` (`data` then holds what did resolve,
 * if anything), the server answered a non-2xx status without a GraphQL body, or the server was not reached
 * (`status` 0). Branch on {@link GraphQLRequestError.codes} (API.md "Errors"), never on messages.
 */
export class GraphQLRequestError extends Error {
  override readonly name = "GraphQLRequestError";
  readonly brand = "GraphQLRequestError" as const;
  constructor(
    message: string,
    /** The response's errors (empty when there was no GraphQL response). */
    readonly errors: readonly GraphQLResponseError[],
    /** HTTP status; 0 when no response arrived. */
    readonly status: number,
    /** Partial data, when the response had some. */
    readonly data: unknown = undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** Every `extensions.code` of the errors, e.g. `["UNAUTHENTICATED"]`. */
  get codes(): string[] {
    return this.errors.flatMap((e) => (typeof e.extensions?.code === "string" ? [e.extensions.code] : []));
  }

  /** True when one of the errors has `code`. */
  hasCode(code: string): boolean {
    return this.codes.includes(code);
  }
}

/** True when `error` is a {@link GraphQLRequestError}, also across module copies. */
export function isGraphQLRequestError(error: unknown): error is GraphQLRequestError {
  return (error as { brand?: unknown } | null)?.brand === "GraphQLRequestError";
}

/** Options of {@link createClient}. */
export interface ClientOptions {
  /** The gateway's GraphQL endpoint, e.g. `http://localhost:4000/graphql`. */
  url: string;
  /** Access token from `login`/`register`, sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Extra headers on every request (e.g. `x-correlation-id`). */
  headers?: Record<string, string>;
  /**
   * Abort a request after this long.
   * @default 30000
   */
  timeoutMs?: number;
  /**
   * The fetch implementation (tests inject one).
   * @default globalThis.fetch
   */
  fetch?: typeof fetch;
}

// Variables may be omitted when the operation has none, or only optional ones.
type VariablesArg<TVariables> = Record<string, never> extends TVariables ? [variables?: TVariables] : [variables: TVariables];

/** A typed client of the supergraph. */
export interface Client {
  /** Runs an operation; resolves with its data, or rejects with a {@link GraphQLRequestError}. */
  request<TData, TVariables extends Record<string, unknown>>(
    document: TypedDocumentNode<TData, TVariables>,
    ...[variables]: VariablesArg<TVariables>
  ): Promise<TData>;
  /** The same client, signed in with `token` (or signed out with undefined). */
  withToken(token: string | undefined): Client;
  /** The same client with extra headers. */
  withHeaders(headers: Record<string, string>): Client;
}

/**
 * A tiny typed GraphQL client over fetch, for the documents generated in `__generated__`:
 *
 * ```ts
 * const client = createClient({ url: "http://localhost:4000/graphql" });
 * const { login } = await client.request(LoginDocument, { email, password });
 * const me = await client.withToken(login.token).request(MeDocument);
 * ```
 */
export function createClient(options: ClientOptions): Client {
  const doFetch = options.fetch ?? globalThis.fetch;
  // Printing a document is not free: once per document per client.
  const printed = new WeakMap<DocumentNode, { query: string; operationName: string | undefined }>();
  const source = (document: DocumentNode) => {
    let entry = printed.get(document);
    if (!entry) {
      const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
      entry = { query: print(document), operationName: operation?.kind === Kind.OPERATION_DEFINITION ? operation.name?.value : undefined };
      printed.set(document, entry);
    }
    return entry;
  };

  async function request<TData>(document: DocumentNode, variables: unknown): Promise<TData> {
    const { query, operationName } = source(document);
    let res: Response;
    try {
      res = await doFetch(options.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/graphql-response+json, application/json",
          ...options.headers,
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        },
        body: JSON.stringify({ query, operationName, ...(variables === undefined ? {} : { variables }) }),
        signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
      });
    } catch (error) {
      throw new GraphQLRequestError(
        `${operationName ?? "operation"}: ${options.url} could not be reached (${(error as Error).message})`,
        [],
        0,
        undefined,
        { cause: error },
      );
    }
    const text = await res.text();
    let body: { data?: TData | null; errors?: GraphQLResponseError[] } | undefined;
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      body = undefined;
    }
    if (body?.errors?.length) {
      const summary = body.errors.map((e) => (e.extensions?.code ? `${e.extensions.code}: ${e.message}` : e.message)).join("; ");
      throw new GraphQLRequestError(`${operationName ?? "operation"} failed: ${summary}`, body.errors, res.status, body.data ?? undefined);
    }
    if (!res.ok || body?.data === undefined || body.data === null) {
      throw new GraphQLRequestError(`${operationName ?? "operation"} failed: HTTP ${res.status} ${text.slice(0, 200)}`, [], res.status);
    }
    return body.data;
  }

  return {
    request: (document, ...[variables]) => request(document, variables),
    withToken: (token) => createClient({ ...options, token }),
    withHeaders: (headers) => createClient({ ...options, headers: { ...options.headers, ...headers } }),
  };
}
