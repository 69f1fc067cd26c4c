import { isConfigError, parseEnv } from "@ecom/config";
import { describe, expect, it } from "vitest";
import { envSchema } from "../src/env.ts";

const problemsOf = (env: Record<string, string>): readonly string[] => {
  try {
    parseEnv("users", envSchema, env);
  } catch (error) {
    if (isConfigError(error)) return error.problems;
    throw error;
  }
  throw new Error("expected a ConfigError");
};

describe("users configuration", () => {
  it("has development defaults for everything", () => {
    expect(parseEnv("users", envSchema, {})).toMatchObject({
      NODE_ENV: "development",
      PORT: 4001,
      DATABASE_URL: "postgres://ecom_users:ecom_users@127.0.0.1:5432/ecom_users",
      JWT_ISSUER: "ecom-users",
      JWT_AUDIENCE: "ecom-gateway",
      JWT_TTL: 3_600_000,
    });
  });

  it("reports a bad PORT together with the production rules (missing JWT_PRIVATE_KEY, development INTERNAL_SECRET)", () => {
    expect(problemsOf({ NODE_ENV: "production", PORT: "http" })).toEqual([
      'PORT: must be a port number from 0 to 65535 (got "http")',
      "JWT_PRIVATE_KEY: must be set in production (no insecure default)",
      "INTERNAL_SECRET: must be set in production (the development default is public)",
    ]);
  });

  it("starts in production once the key and the secret are set", () => {
    const env = parseEnv("users", envSchema, {
      NODE_ENV: "production",
      JWT_PRIVATE_KEY: "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----",
      INTERNAL_SECRET: "a-real-secret-of-some-length",
    });
    expect(env.NODE_ENV).toBe("production");
  });
});
