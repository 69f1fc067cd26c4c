import { parseEnv } from "@ecom/config";
import { GATEWAY_LIMIT_DEFAULTS, limitsFromEnv } from "@ecom/limits";
import { describe, expect, it } from "vitest";
import { envSchema } from "../src/env.ts";

const parse = (env: Record<string, string>) => parseEnv("gateway", envSchema, env);
const problemsOf = (env: Record<string, string>) => {
  try {
    parse(env);
    return "";
  } catch (error) {
    return (error as Error).message;
  }
};

describe("the gateway's limits and HTTP hygiene settings", () => {
  it("defaults to no CORS origin, no trusted proxy and the gateway's limits", () => {
    const env = parse({});
    expect(env).toMatchObject({ CORS_ORIGINS: [], CORS_CREDENTIALS: false, TRUST_PROXY: false, SUBGRAPH_HEALTH_INTERVAL: 5000 });
    expect(limitsFromEnv(env, GATEWAY_LIMIT_DEFAULTS)).toEqual(GATEWAY_LIMIT_DEFAULTS);
  });

  it("reads the allow-list, the proxies and the limits", () => {
    const env = parse({
      CORS_ORIGINS: "https://shop.example.com, http://localhost:3000",
      TRUST_PROXY: "loopback, 10.0.0.0/8",
      QUERY_MAX_DEPTH: "6",
      QUERY_MAX_COST: "900",
      HTTP_BODY_LIMIT: "200kb",
    });
    expect(env.CORS_ORIGINS).toEqual(["https://shop.example.com", "http://localhost:3000"]);
    expect(env.TRUST_PROXY).toBe("loopback, 10.0.0.0/8");
    expect(parse({ TRUST_PROXY: "2" }).TRUST_PROXY).toBe(2);
    expect(limitsFromEnv(env, GATEWAY_LIMIT_DEFAULTS)).toMatchObject({
      maxDepth: 6,
      maxCost: 900,
      maxAliases: GATEWAY_LIMIT_DEFAULTS.maxAliases,
    });
  });

  it("refuses a wildcard origin, trusting every proxy and invalid limits, naming each", () => {
    const message = problemsOf({ CORS_ORIGINS: "*", TRUST_PROXY: "true", QUERY_MAX_DEPTH: "0", HTTP_BODY_LIMIT: "lots" });
    expect(message).toMatch(/CORS_ORIGINS: must list exact origins/);
    expect(message).toMatch(/TRUST_PROXY: true would trust every X-Forwarded-For/);
    expect(message).toMatch(/QUERY_MAX_DEPTH/);
    expect(message).toMatch(/HTTP_BODY_LIMIT/);
  });

  it("refuses to listen beyond loopback when NODE_ENV is not set", () => {
    expect(problemsOf({ HOST: "0.0.0.0" })).toMatch(/NODE_ENV: is not set, and HOST=0.0.0.0 listens beyond this machine/);
    expect(parse({}).HOST).toBe("127.0.0.1");
    expect(parse({ NODE_ENV: "development", HOST: "0.0.0.0" }).HOST).toBe("0.0.0.0");
  });
});
