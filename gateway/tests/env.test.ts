import { describe, expect, it } from "vitest";
import { devMasterKeyring } from "@ecom/auth";
import { parseEnv } from "@ecom/config";
import { DEFAULT_SUPERGRAPH_PATH, envSchema, resilienceConfigOf, subgraphUrlOverrides } from "../src/env.ts";
import { subgraphsOf } from "../src/supergraph.ts";
import { readFileSync } from "node:fs";

const parse = (env: Record<string, string>) => parseEnv("gateway", envSchema, env);

describe("gateway configuration", () => {
  it("has development defaults for everything", () => {
    const env = parse({});
    expect(env).toMatchObject({
      PORT: 4000,
      NODE_ENV: "development",
      SIGNING_KEYS: devMasterKeyring(),
      JWT_CLOCK_SKEW: 5000,
      JWKS_URL: "http://localhost:4001/.well-known/jwks.json",
      JWT_ISSUER: "ecom-users",
      JWT_AUDIENCE: "ecom-gateway",
      SUBGRAPH_TIMEOUT: 5000,
      SUPERGRAPH_PATH: DEFAULT_SUPERGRAPH_PATH,
    });
    expect(subgraphUrlOverrides(env)).toEqual({});
  });

  it("reads SUBGRAPH_<NAME>_URL overrides and durations", () => {
    const env = parse({
      SUBGRAPH_USERS_URL: "http://users:4001/graphql",
      SUBGRAPH_ORDERS_URL: "http://orders:8080/graphql",
      SUBGRAPH_TIMEOUT: "1500ms",
    });
    expect(subgraphUrlOverrides(env)).toEqual({ users: "http://users:4001/graphql", orders: "http://orders:8080/graphql" });
    expect(env.SUBGRAPH_TIMEOUT).toBe(1500);
  });

  it("reports every problem at once", () => {
    let message = "";
    try {
      parse({ SUBGRAPH_USERS_URL: "users:4001", SUBGRAPH_TIMEOUT: "soon", PORT: "http" });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain("(3 problems)");
    expect(message).toContain("SUBGRAPH_USERS_URL: must be an http(s) URL");
    expect(message).toContain("SUBGRAPH_TIMEOUT: must be a duration");
    expect(message).toContain("PORT: must be a port number");
  });

  it("reads the resilience settings: RESILIENCE_CONFIG as JSON, with SUBGRAPH_TIMEOUT and REQUEST_DEADLINE where it is silent", () => {
    const env = parse({
      SUBGRAPH_TIMEOUT: "800ms",
      REQUEST_DEADLINE: "3s",
      RESILIENCE_CONFIG: JSON.stringify({
        defaults: { breaker: { openMs: 2000 } },
        overrides: { search: { timeout: { attemptMs: 300 } } },
      }),
    });
    expect(resilienceConfigOf(env)).toEqual({
      deadlineMs: 3000,
      defaults: { breaker: { openMs: 2000 }, timeout: { attemptMs: 800 } },
      overrides: { search: { timeout: { attemptMs: 300 } } },
    });
    expect(resilienceConfigOf(parse({ RESILIENCE_CONFIG: '{"deadlineMs":1500,"defaults":{"timeout":{"attemptMs":100}}}' }))).toMatchObject({
      deadlineMs: 1500,
      defaults: { timeout: { attemptMs: 100 } },
    });
  });

  it("reads the response cache's settings, off by default, and names a bad hint", () => {
    expect(parse({}).RESPONSE_CACHE).toBe(false);
    expect(parse({}).RESPONSE_CACHE_HINTS).toBeUndefined();
    expect(parse({ RESPONSE_CACHE: "true", RESPONSE_CACHE_HINTS: '{"Query.products":{"maxAge":10}}' })).toMatchObject({
      RESPONSE_CACHE: true,
      RESPONSE_CACHE_HINTS: { "Query.products": { maxAge: 10 } },
    });
    expect(() => parse({ RESPONSE_CACHE_HINTS: '{"Query.products":{"maxAge":-1}}' })).toThrow(
      /RESPONSE_CACHE_HINTS: Query.products.maxAge/,
    );
  });

  it("names what is wrong in RESILIENCE_CONFIG", () => {
    expect(() => parse({ RESILIENCE_CONFIG: "{breaker:" })).toThrow(/RESILIENCE_CONFIG: must be JSON/);
    expect(() => parse({ RESILIENCE_CONFIG: '{"defaults":{"breaker":{"failureRatio":3,"opnMs":5}}}' })).toThrow(
      /RESILIENCE_CONFIG: defaults.breaker.failureRatio: .*\n.*RESILIENCE_CONFIG: defaults.breaker: Unrecognized key: "opnMs"/s,
    );
  });

  it("refuses the development signing key in production, and takes master keys for rotation", () => {
    expect(() => parse({ NODE_ENV: "production" })).toThrow(/SIGNING_KEYS: must be set in production/);
    expect(() => parse({ NODE_ENV: "production", SIGNING_KEYS: `dev:${Buffer.alloc(32, 9).toString("base64url")}` })).toThrow(
      /SIGNING_KEYS: must be set in production/,
    );
    const keys = `new:${Buffer.alloc(32, 1).toString("base64url")},old:${Buffer.alloc(32, 2).toString("base64url")}`;
    expect(parse({ NODE_ENV: "production", SIGNING_KEYS: keys }).SIGNING_KEYS.map((k) => k.kid)).toEqual(["new", "old"]);
  });

  it("reports the development signing key in production together with an invalid variable", () => {
    expect(() => parse({ NODE_ENV: "production", PORT: "http" })).toThrow(
      /\(2 problems\):\n {2}- PORT: must be a port number.*\n {2}- SIGNING_KEYS: must be set in production/,
    );
  });

  it("defaults to the checked-in supergraph, whose subgraphs follow the port table", () => {
    const subgraphs = subgraphsOf(readFileSync(DEFAULT_SUPERGRAPH_PATH, "utf8"));
    expect(subgraphs).toContainEqual({ name: "users", url: "http://localhost:4001/graphql" });
  });
});
