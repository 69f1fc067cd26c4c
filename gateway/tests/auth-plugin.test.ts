import type { GraphQLRequestContext } from "@apollo/server";
import { HeaderMap } from "@apollo/server";
import { describe, expect, it, vi } from "vitest";
import type { Identity } from "@ecom/auth";
import { authUnavailable, unauthenticated } from "@ecom/errors";
import { SignJWT } from "jose";
import { createAuthPlugin } from "../src/plugins/auth.ts";

/** A token-shaped string with the given `exp` (the plugin's verifier is a stub: no signature is checked). */
const tokenExpiringAt = (expSeconds: number, sub = "u-1") =>
  new SignJWT({ role: "CUSTOMER" })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(sub)
    .setExpirationTime(expSeconds)
    .sign(new Uint8Array(32));

/** Runs the plugin's hooks for one request carrying `authorization`; returns the context and any error. */
async function run(plugin: ReturnType<typeof createAuthPlugin>, authorization?: string) {
  const contextValue = {};
  const headers = new HeaderMap(authorization === undefined ? [] : [["authorization", authorization]]);
  const requestContext = {
    request: { http: { method: "POST", headers, search: "", body: {} } },
    contextValue,
  } as unknown as GraphQLRequestContext<object>;
  const listener = await plugin.requestDidStart!(requestContext);
  const error = await (listener?.didResolveOperation?.(requestContext as never) ?? Promise.resolve()).then(
    () => undefined,
    (e: unknown) => e as { message: string; extensions: Record<string, unknown> },
  );
  return { contextValue, error, identity: plugin.identityOf(contextValue) };
}

describe("the auth plugin", () => {
  it("makes a request without Authorization anonymous", async () => {
    const verifyToken = vi.fn();
    const { identity, error } = await run(createAuthPlugin({ verifyToken }), undefined);
    expect(error).toBeUndefined();
    expect(identity).toBeNull();
    expect(verifyToken).not.toHaveBeenCalled();
  });

  it("establishes the identity of a valid bearer token, per request", async () => {
    const plugin = createAuthPlugin({ verifyToken: async (): Promise<Identity> => ({ userId: "u-1", role: "ADMIN" }) });
    const token = await tokenExpiringAt(Math.floor(Date.now() / 1000) + 600);
    const a = await run(plugin, `Bearer ${token}`);
    const b = await run(plugin, undefined);
    expect(a.identity).toEqual({ userId: "u-1", role: "ADMIN" });
    expect(b.identity).toBeNull();
    expect(plugin.identityOf({})).toBeNull();
  });

  it("answers 401 UNAUTHENTICATED with the verifier's reason for a bad token, and for a malformed header", async () => {
    const plugin = createAuthPlugin({
      verifyToken: async () => {
        throw unauthenticated("Your session has expired: sign in again.");
      },
    });
    const expired = await run(plugin, "Bearer abc.def.ghi");
    expect(expired.error?.message).toBe("Your session has expired: sign in again.");
    expect(expired.error?.extensions).toMatchObject({ code: "UNAUTHENTICATED", http: { status: 401 } });
    const basic = await run(plugin, "Basic dXNlcjpwYXNz");
    expect(basic.error?.extensions).toMatchObject({ code: "UNAUTHENTICATED", http: { status: 401 } });
  });

  it("answers 503 AUTH_UNAVAILABLE with Retry-After when the token cannot be checked right now", async () => {
    const plugin = createAuthPlugin({
      verifyToken: async () => {
        throw authUnavailable();
      },
      retryAfterSeconds: 7,
    });
    const { error, identity } = await run(plugin, "Bearer abc.def.ghi");
    expect(error?.extensions).toMatchObject({ code: "AUTH_UNAVAILABLE", http: { status: 503 } });
    const headers = (error?.extensions["http"] as { headers: Map<string, string> }).headers;
    expect(headers.get("retry-after")).toBe("7");
    expect(identity).toBeNull();
  });

  it("hides unexpected verifier failures behind 'Invalid token.'", async () => {
    const plugin = createAuthPlugin({
      verifyToken: async () => {
        throw new Error("ECONNRESET at 10.0.0.7");
      },
    });
    const { error } = await run(plugin, "Bearer abc.def.ghi");
    expect(error?.message).toBe("Invalid token.");
  });

  it("verifies a token once while cached, never past its exp, and again after the cache TTL", async () => {
    let now = 1_700_000_000_000;
    const verifyToken = vi.fn(async (): Promise<Identity> => ({ userId: "u-1", role: "CUSTOMER" }));
    const plugin = createAuthPlugin({ verifyToken, cacheTtlMs: 60_000, now: () => now });
    const longLived = await tokenExpiringAt(now / 1000 + 3600);
    await run(plugin, `Bearer ${longLived}`);
    await run(plugin, `Bearer ${longLived}`);
    expect(verifyToken).toHaveBeenCalledTimes(1);
    now += 61_000;
    await run(plugin, `Bearer ${longLived}`);
    expect(verifyToken).toHaveBeenCalledTimes(2);

    // Expires in 10 s: cached 10 s, not 60.
    const shortLived = await tokenExpiringAt(now / 1000 + 10, "u-2");
    await run(plugin, `Bearer ${shortLived}`);
    now += 11_000;
    verifyToken.mockRejectedValueOnce(unauthenticated("Your session has expired: sign in again."));
    const { error } = await run(plugin, `Bearer ${shortLived}`);
    expect(error?.extensions).toMatchObject({ code: "UNAUTHENTICATED" });
    expect(verifyToken).toHaveBeenCalledTimes(4);
  });

  it("forgets the oldest token when the cache is full", async () => {
    const verifyToken = vi.fn(async (): Promise<Identity> => ({ userId: "u", role: "CUSTOMER" }));
    const plugin = createAuthPlugin({ verifyToken, cacheMaxEntries: 2 });
    const exp = Math.floor(Date.now() / 1000) + 600;
    const [t1, t2, t3] = await Promise.all(["a", "b", "c"].map((sub) => tokenExpiringAt(exp, sub)));
    for (const t of [t1, t2, t3, t3, t2]) await run(plugin, `Bearer ${t}`);
    expect(verifyToken).toHaveBeenCalledTimes(3);
    await run(plugin, `Bearer ${t1}`);
    expect(verifyToken).toHaveBeenCalledTimes(4);
  });
});
