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

  it("reports a bad PORT together with the production rules (missing JWT_PRIVATE_KEY, development SIGNING_KEYS)", () => {
    expect(problemsOf({ NODE_ENV: "production", PORT: "http" })).toEqual([
      'PORT: must be a port number from 0 to 65535 (got "http")',
      "JWT_PRIVATE_KEY: must be set in production (no insecure default)",
      "SIGNING_KEYS: must be set in production (the development key is public): make keys with `npm run keys`",
    ]);
  });

  it("starts in production once the JWT key and the signing keys are set", () => {
    const env = parseEnv("users", envSchema, {
      NODE_ENV: "production",
      JWT_PRIVATE_KEY: "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----",
      SIGNING_KEYS: `k1:${Buffer.alloc(32, 7).toString("base64url")}`,
    });
    expect(env.NODE_ENV).toBe("production");
  });
});
