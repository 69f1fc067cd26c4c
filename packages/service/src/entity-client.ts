import { createRequestSigner, type Keyring } from "@ecom/auth";
import { CORRELATION_ID_HEADER, currentRequestContext } from "@ecom/observability";

/** Options of {@link createEntityClient}. */
export interface EntityClientOptions {
  /** Another subgraph's `/graphql` URL. */
  url: string;
  /**
   * Who calls and whom, and K(caller -> target) (e.g. orders' PRODUCTS_SIGNING_KEYS): the call is signed as the
   * calling service itself, never as a user (no identity headers are sent).
   */
  signing: { caller: string; target: string; keys: Keyring };
  /**
   * Per-call timeout.
   * @default 3000
   */
  timeoutMs?: number;
}

/** Thrown when the other subgraph cannot be reached or answers with errors. */
export class EntityClientError extends Error {
  readonly brand = "EntityClientError" as const;
  constructor(
    message: string,
    readonly subgraphUrl: string,
  ) {
    super(message);
  }
}

/** True when `error` is an {@link EntityClientError}. */
export const isEntityClientError = (error: unknown): error is EntityClientError =>
  (error as { brand?: unknown } | null)?.brand === "EntityClientError";

/**
 * Reads entities from another subgraph through its federation `_entities` field: the same contract the gateway
 * uses, so no service ever reads another's database. One HTTP call per batch of ids.
 */
export function createEntityClient(options: EntityClientOptions) {
  const sign = createRequestSigner(options.signing);
  const parsed = new URL(options.url);
  const path = `${parsed.pathname}${parsed.search}`;
  return async function fetchEntities<T>(typename: string, ids: readonly string[], selection: string): Promise<Array<T | null>> {
    if (ids.length === 0) return [];
    const query = `query($representations: [_Any!]!) { _entities(representations: $representations) { ... on ${typename} { ${selection} } } }`;
    const ctx = currentRequestContext();
    const payload = JSON.stringify({ query, variables: { representations: ids.map((id) => ({ __typename: typename, id })) } });
    const headers: Record<string, string> = {
      "content-type": "application/json",
      ...(ctx ? { [CORRELATION_ID_HEADER]: ctx.correlationId } : {}),
    };
    let res: Response;
    try {
      res = await fetch(options.url, {
        method: "POST",
        headers: { ...headers, ...sign({ method: "POST", path, body: payload, headers }) },
        body: payload,
        signal: AbortSignal.timeout(options.timeoutMs ?? 3000),
      });
    } catch (error) {
      throw new EntityClientError(`${typename} lookup failed: ${(error as Error).message}`, options.url);
    }
    const body = (await res.json().catch(() => null)) as {
      data?: { _entities?: Array<T | null> };
      errors?: Array<{ message: string }>;
    } | null;
    if (!res.ok || !body?.data?._entities || body.errors?.length) {
      throw new EntityClientError(
        `${typename} lookup failed (HTTP ${res.status}): ${body?.errors?.map((e) => e.message).join("; ") ?? "no data"}`,
        options.url,
      );
    }
    return body.data._entities.map((e) => (e && Object.keys(e).length > 0 ? e : null));
  };
}
