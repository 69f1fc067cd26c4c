import { parseEnv } from "@ecom/config";
import { describe, expect, it } from "vitest";
import { envSchema } from "../src/env.ts";

const parse = (env: Record<string, string>) => parseEnv("gateway", envSchema, env);
const problemsOf = (env: Record<string, string>) => {
  try {
    parse(env);
  } catch (error) {
    return (error as Error).message;
  }
  return "";
};

describe("the gateway's rate-limit settings", () => {
  it("default to the built-in rules in Redis, the local policy, and no trusted proxy", () => {
    expect(parse({})).toMatchObject({ RATE_LIMIT: true, RATE_LIMIT_STORE: "redis", RATE_LIMIT_REDIS_DOWN: "local", TRUST_PROXY: false });
    expect(parse({}).RATE_LIMIT_RULES).toBeUndefined();
  });

  it("read TRUST_PROXY as express does (hop counts, addresses and subnets), refusing true (any client would pick its IP)", () => {
    expect(problemsOf({ TRUST_PROXY: "true" })).toMatch(/TRUST_PROXY.*true would trust every X-Forwarded-For/);
    expect(parse({ TRUST_PROXY: "2" }).TRUST_PROXY).toBe(2);
    expect(parse({ TRUST_PROXY: "loopback, 10.0.0.0/8" }).TRUST_PROXY).toBe("loopback, 10.0.0.0/8");
    expect(problemsOf({ TRUST_PROXY: "10.0.0.0/99" })).toMatch(/TRUST_PROXY.*must be false, a hop count or addresses\/subnets/);
  });

  it("take RATE_LIMIT_RULES as JSON rules and name each problem of invalid ones", () => {
    const rules = [{ id: "a", algorithm: "sliding-window", key: ["ip"], limit: 5, window: "1m" }];
    expect(parse({ RATE_LIMIT_RULES: JSON.stringify(rules) }).RATE_LIMIT_RULES).toEqual(rules);
    const message = problemsOf({
      RATE_LIMIT_RULES: '[{"id":"a","algorithm":"token-bucket","key":["ip"],"limit":5}]',
      RATE_LIMIT_REDIS_DOWN: "maybe",
    });
    expect(message).toMatch(/RATE_LIMIT_RULES.*0\.refill/);
    expect(message).toMatch(/RATE_LIMIT_REDIS_DOWN/);
    expect(problemsOf({ RATE_LIMIT_RULES: "[{" })).toMatch(/RATE_LIMIT_RULES.*must be JSON/);
  });
});
