import { rejectionOf } from "@ecom/testing";
import { describe, expect, expectTypeOf, it } from "vitest";
import {
  CategoriesDocument,
  LoginDocument,
  MeDocument,
  ProductsDocument,
  createClient,
  isGraphQLRequestError,
  type MeQuery,
} from "../src/index.ts";

/** A fetch that records requests and answers with `status` and `body`. */
function stubFetch(status: number, body: unknown, contentType = "application/json") {
  const calls: Array<{
    url: string;
    headers: Record<string, string>;
    body: { query: string; operationName?: string; variables?: unknown };
  }> = [];
  const fetch = (async (url: string, init: RequestInit) => {
    calls.push({ url, headers: init.headers as Record<string, string>, body: JSON.parse(init.body as string) });
    return new Response(typeof body === "string" ? body : JSON.stringify(body), { status, headers: { "content-type": contentType } });
  }) as unknown as typeof globalThis.fetch;
  return { fetch, calls };
}

const rejection = (promise: Promise<unknown>) => rejectionOf(promise, isGraphQLRequestError);

const url = "http://gateway.test/graphql";

describe("createClient", () => {
  it("sends the printed operation with its name and variables, and resolves with typed data", async () => {
    const { fetch, calls } = stubFetch(200, {
      data: {
        login: { token: "t", user: { id: "1", email: "a@b.c", name: "A", role: "CUSTOMER", createdAt: "2026-01-01T00:00:00.000Z" } },
      },
    });
    const data = await createClient({ url, fetch }).request(LoginDocument, { email: "a@b.c", password: "password123" });
    expect(data.login.token).toBe("t");
    expectTypeOf(data.login.user.role).toEqualTypeOf<"CUSTOMER" | "ADMIN">();
    expect(calls[0]?.url).toBe(url);
    expect(calls[0]?.body.operationName).toBe("Login");
    expect(calls[0]?.body.query).toContain("mutation Login($email: String!, $password: String!)");
    expect(calls[0]?.body.query).toContain("fragment UserFields on User");
    expect(calls[0]?.body.variables).toEqual({ email: "a@b.c", password: "password123" });
    expect(calls[0]?.headers["authorization"]).toBeUndefined();
  });

  it("lets variables be omitted only when the operation needs none", async () => {
    const { fetch, calls } = stubFetch(200, { data: { categories: [] } });
    const client = createClient({ url, fetch });
    await client.request(CategoriesDocument);
    await client.request(ProductsDocument);
    await client.request(ProductsDocument, { first: 5, categoryId: "c1" });
    // @ts-expect-error Login has required variables
    await client.request(LoginDocument).catch(() => undefined);
    // @ts-expect-error a misspelt variable
    await client.request(ProductsDocument, { frist: 5 }).catch(() => undefined);
    expect(calls[0]?.body.variables).toBeUndefined();
    expect(calls[2]?.body.variables).toEqual({ first: 5, categoryId: "c1" });
  });

  it("sends the token as a Bearer header, and extra headers", async () => {
    const { fetch, calls } = stubFetch(200, { data: { me: null } });
    const signedIn = createClient({ url, fetch, headers: { "x-correlation-id": "c-1" } }).withToken("abc");
    const data = await signedIn.request(MeDocument);
    expectTypeOf(data).toEqualTypeOf<MeQuery>();
    expect(calls[0]?.headers).toMatchObject({ authorization: "Bearer abc", "x-correlation-id": "c-1" });
    await signedIn.withToken(undefined).withHeaders({ "x-correlation-id": "c-2" }).request(MeDocument);
    expect(calls[1]?.headers["authorization"]).toBeUndefined();
    expect(calls[1]?.headers["x-correlation-id"]).toBe("c-2");
  });

  it("throws GraphQLRequestError with the codes and the partial data when the response has errors", async () => {
    const { fetch } = stubFetch(200, {
      data: { me: null },
      errors: [
        {
          message: "The users service is unavailable right now.",
          path: ["me"],
          extensions: { code: "SUBGRAPH_UNAVAILABLE", serviceName: "users" },
        },
      ],
    });
    const error = await rejection(createClient({ url, fetch }).request(MeDocument));
    expect(error).toBeInstanceOf(Error);
    expect(error.codes).toEqual(["SUBGRAPH_UNAVAILABLE"]);
    expect(error.hasCode("SUBGRAPH_UNAVAILABLE")).toBe(true);
    expect(error.data).toEqual({ me: null });
    expect(error.status).toBe(200);
    expect(error.message).toBe("Me failed: SUBGRAPH_UNAVAILABLE: The users service is unavailable right now.");
  });

  it("reports a 401 UNAUTHENTICATED with its status", async () => {
    const { fetch } = stubFetch(401, { errors: [{ message: "Invalid token.", extensions: { code: "UNAUTHENTICATED" } }] });
    const error = await rejection(createClient({ url, fetch, token: "bad" }).request(MeDocument));
    expect(error.status).toBe(401);
    expect(error.codes).toEqual(["UNAUTHENTICATED"]);
  });

  it("reports an answer that is not GraphQL, and a server it cannot reach", async () => {
    const { fetch } = stubFetch(502, "<html>Bad Gateway</html>", "text/html");
    const badGateway = await rejection(createClient({ url, fetch }).request(MeDocument));
    expect(badGateway.status).toBe(502);
    expect(badGateway.codes).toEqual([]);
    expect(badGateway.message).toContain("HTTP 502");

    const unreachable = await rejection(createClient({ url: "http://127.0.0.1:9/graphql", timeoutMs: 2000 }).request(MeDocument));
    expect(unreachable.status).toBe(0);
    expect(unreachable.message).toContain("could not be reached");
  });
});
