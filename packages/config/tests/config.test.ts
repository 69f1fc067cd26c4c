import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { devMasterKeyring, serviceKeyring } from "@ecom/auth";
import {
  ConfigError,
  baseEnv,
  booleanFlag,
  durationMs,
  evenIfOtherVariablesFail,
  httpUrl,
  isConfigError,
  nodeEnv,
  parseEnv,
  port,
  postgresUrl,
  redisUrl,
  requiredInProduction,
  subgraphEnvSchema,
  z,
} from "@ecom/config";

const schema = z
  .object({
    ...baseEnv,
    PORT: port(4001),
    DATABASE_URL: postgresUrl(),
    REDIS_URL: redisUrl(),
    JWKS_URL: httpUrl(),
    JWT_PRIVATE_KEY: z.string().optional(),
    CACHE_ENABLED: booleanFlag(true),
    JWT_TTL: durationMs("1h"),
  })
  .superRefine(requiredInProduction(["JWT_PRIVATE_KEY"]), evenIfOtherVariablesFail);

const valid = {
  DATABASE_URL: "postgres://u:p@127.0.0.1:5432/db",
  REDIS_URL: "redis://127.0.0.1:6379/0",
  JWKS_URL: "http://localhost:4001/.well-known/jwks.json",
};

function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(isConfigError(error)).toBe(true);
    return error as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

/** Parses a single variable with `field` (the other variables of `schema` do not matter). */
const one = <T extends z.ZodType>(field: T, value: string | undefined): z.output<T> =>
  (parseEnv("t", z.object({ V: field }), { V: value }) as { V: z.output<T> }).V;
const problemOf = <T extends z.ZodType>(field: T, value: string) =>
  configErrorOf(() => parseEnv("t", z.object({ V: field }), { V: value })).problems;

describe("parseEnv", () => {
  it("reports every missing or invalid variable in one ConfigError, naming each and what is wrong", () => {
    const error = configErrorOf(() =>
      parseEnv("users", schema, {
        NODE_ENV: "production",
        PORT: "eighty",
        REDIS_URL: "http://127.0.0.1:6379",
        JWKS_URL: "ftp://keys",
        CACHE_ENABLED: "maybe",
        JWT_TTL: "5 weeks",
        LOG_LEVEL: "loud",
      }),
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.service).toBe("users");
    const lines = Object.fromEntries(error.problems.map((p) => [p.slice(0, p.indexOf(":")), p.slice(p.indexOf(":") + 1).trim()]));
    expect(Object.keys(lines).sort()).toEqual(
      ["CACHE_ENABLED", "DATABASE_URL", "JWKS_URL", "JWT_PRIVATE_KEY", "JWT_TTL", "LOG_LEVEL", "PORT", "REDIS_URL"].sort(),
    );
    expect(lines["DATABASE_URL"]).toBe("is required but not set");
    expect(lines["PORT"]).toMatch(/port number.*"eighty"/);
    expect(lines["REDIS_URL"]).toMatch(/redis:\/\//);
    expect(lines["JWKS_URL"]).toMatch(/http\(s\) URL/);
    expect(lines["CACHE_ENABLED"]).toMatch(/true or false.*"maybe"/);
    expect(lines["JWT_TTL"]).toMatch(/duration.*"5 weeks"/);
    expect(lines["LOG_LEVEL"]).toMatch(/info/);
    expect(lines["JWT_PRIVATE_KEY"]).toMatch(/must be set in production/);
    // One message a human can act on: header with the count, then one line per problem.
    expect(error.message).toMatch(/^Invalid configuration for users \(8 problems\):\n/);
    for (const p of error.problems) expect(error.message).toContain(`  - ${p}\n`);
  });

  it("treats empty strings as unset: required variables are missing, optional ones take their default", () => {
    const error = configErrorOf(() => parseEnv("t", schema, { ...valid, NODE_ENV: "test", DATABASE_URL: "" }));
    expect(error.problems).toEqual(["DATABASE_URL: is required but not set"]);
    const env = parseEnv("t", schema, { ...valid, PORT: "", NODE_ENV: "", HOST: "127.0.0.1", CACHE_ENABLED: "", JWT_TTL: "" });
    expect(env).toMatchObject({ PORT: 4001, NODE_ENV: "development", CACHE_ENABLED: true, JWT_TTL: 3_600_000 });
  });

  it("returns typed values with defaults applied when everything is valid", () => {
    const env = parseEnv("t", schema, {
      ...valid,
      NODE_ENV: "development",
      PORT: "4100",
      CACHE_ENABLED: "no",
      JWT_TTL: "15m",
      UNRELATED: "x",
    });
    expect(env).toEqual({
      NODE_ENV: "development",
      LOG_LEVEL: "info",
      HOST: "0.0.0.0",
      PORT: 4100,
      ...valid,
      CACHE_ENABLED: false,
      JWT_TTL: 900_000,
    });
  });
});

describe("requiredInProduction", () => {
  it("refuses a missing JWT_PRIVATE_KEY in production", () => {
    const error = configErrorOf(() => parseEnv("users", schema, { ...valid, NODE_ENV: "production" }));
    expect(error.problems).toEqual(["JWT_PRIVATE_KEY: must be set in production (no insecure default)"]);
  });

  it("counts an empty JWT_PRIVATE_KEY as missing in production", () => {
    const error = configErrorOf(() => parseEnv("users", schema, { ...valid, NODE_ENV: "production", JWT_PRIVATE_KEY: "" }));
    expect(error.problems).toHaveLength(1);
  });

  it("accepts a missing JWT_PRIVATE_KEY in development and test", () => {
    expect(parseEnv("users", schema, { ...valid, NODE_ENV: "development" }).JWT_PRIVATE_KEY).toBeUndefined();
    expect(parseEnv("users", schema, { ...valid, NODE_ENV: "test" }).JWT_PRIVATE_KEY).toBeUndefined();
    expect(parseEnv("users", schema, { ...valid, HOST: "localhost" }).NODE_ENV).toBe("development");
  });

  it("accepts a set JWT_PRIVATE_KEY in production", () => {
    expect(parseEnv("users", schema, { ...valid, NODE_ENV: "production", JWT_PRIVATE_KEY: "pem" }).JWT_PRIVATE_KEY).toBe("pem");
  });
});

describe("a process without NODE_ENV", () => {
  const schema = z.object({ ...baseEnv, PORT: port(4000) });

  it("refuses to listen beyond this machine, saying how to fix it", () => {
    for (const env of [{ HOST: "0.0.0.0" }, { HOST: "::" }, { HOST: "10.1.2.3" }, { NODE_ENV: "", HOST: "0.0.0.0" }]) {
      const error = configErrorOf(() => parseEnv("gateway", schema, env));
      expect(error.problems).toEqual([
        expect.stringMatching(/^NODE_ENV: is not set, and HOST=.* listens beyond this machine: set NODE_ENV=production/),
      ]);
    }
  });

  it("listens on loopback by default, on any loopback address asked, and anywhere once NODE_ENV is set", () => {
    expect(parseEnv("gateway", schema, {})).toMatchObject({ NODE_ENV: "development", HOST: "127.0.0.1" });
    for (const HOST of ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.5"])
      expect(parseEnv("gateway", schema, { HOST }).NODE_ENV).toBe("development");
    for (const NODE_ENV of ["development", "test", "production"]) expect(parseEnv("gateway", schema, { NODE_ENV }).HOST).toBe("0.0.0.0");
  });

  it("is reported together with the other problems", () => {
    const error = configErrorOf(() => parseEnv("gateway", schema, { PORT: "http", HOST: "0.0.0.0" }));
    expect(error.problems.map((p) => p.split(":")[0])).toEqual(["PORT", "NODE_ENV"]);
  });

  it("is left alone by schemas without HOST (scripts that do not listen)", () => {
    expect(parseEnv("seed", z.object({ NODE_ENV: nodeEnv }), {})).toEqual({ NODE_ENV: "development" });
  });
});

const REAL_KEYS = `k2:${Buffer.alloc(32, 2).toString("base64url")},k1:${Buffer.alloc(32, 1).toString("base64url")}`;

describe("subgraphEnvSchema", () => {
  const ordersSchema = subgraphEnvSchema("orders", { PRODUCTS_URL: httpUrl().default("http://localhost:4002/graphql") });
  const usersSchema = subgraphEnvSchema("users", { JWT_PRIVATE_KEY: z.string().optional() }, { requiredInProduction: ["JWT_PRIVATE_KEY"] });

  it("gives the common variables their development defaults: the port table's PORT, the service's own database", () => {
    expect(parseEnv("orders", ordersSchema, { NODE_ENV: "development" })).toEqual({
      NODE_ENV: "development",
      LOG_LEVEL: "info",
      HOST: "0.0.0.0",
      SHUTDOWN_DELAY: 0,
      DRAIN_TIMEOUT: 10_000,
      SIGNING_KEYS: serviceKeyring(devMasterKeyring(), "orders"),
      SIGNING_WINDOW: 30_000,
      SIGNING_REPLAY_CHECK: "mutations",
      PORT: 4004,
      DATABASE_URL: "postgres://ecom_orders:ecom_orders@127.0.0.1:5432/ecom_orders",
      REDIS_URL: "redis://127.0.0.1:6379/0",
      CONTROL_PLANE_PREFIX: "ecom:",
      DISCOVERY_MODE: "static",
      DISCOVERY_TTL: 10_000,
      SERVICE_VERSION: "stable",
      BUILD_VERSION: "dev",
      SERVICE_TAGS: {},
      PRODUCTS_URL: "http://localhost:4002/graphql",
    });
  });

  it("reads the discovery settings of an instance, and names a malformed tag list", () => {
    const env = parseEnv("orders", ordersSchema, {
      DISCOVERY_MODE: "registry",
      DISCOVERY_TTL: "3s",
      SERVICE_VERSION: "v2",
      SERVICE_TAGS: "zone=a, pool=blue",
      ADVERTISE_URL: "http://10.0.0.7:4004/graphql",
    });
    expect(env).toMatchObject({
      DISCOVERY_MODE: "registry",
      DISCOVERY_TTL: 3000,
      SERVICE_VERSION: "v2",
      SERVICE_TAGS: { zone: "a", pool: "blue" },
    });
    expect(configErrorOf(() => parseEnv("orders", ordersSchema, { SERVICE_TAGS: "zone", DISCOVERY_MODE: "consul" })).problems).toEqual([
      'DISCOVERY_MODE: Invalid option: expected one of "static"|"registry"',
      'SERVICE_TAGS: must be key=value pairs separated by commas (got "zone")',
    ]);
  });

  it("reports an invalid variable and every production rule at once", () => {
    const error = configErrorOf(() => parseEnv("users", usersSchema, { NODE_ENV: "production", PORT: "http", DATABASE_URL: "mysql://x" }));
    expect(error.problems).toEqual([
      'PORT: must be a port number from 0 to 65535 (got "http")',
      "DATABASE_URL: must be a postgres:// URL, e.g. postgres://user:password@127.0.0.1:5432/db",
      "JWT_PRIVATE_KEY: must be set in production (no insecure default)",
      "SIGNING_KEYS: must be set in production (the development key is public): make keys with `npm run keys`",
    ]);
  });

  it("accepts production with its secrets set", () => {
    const env = parseEnv("users", usersSchema, { NODE_ENV: "production", JWT_PRIVATE_KEY: "pem", SIGNING_KEYS: REAL_KEYS });
    expect(env).toMatchObject({ NODE_ENV: "production", PORT: 4001, JWT_PRIVATE_KEY: "pem" });
  });
});

describe("signing keys", () => {
  const schema = subgraphEnvSchema("products");
  const workerSchema = subgraphEnvSchema("products", {}, { signing: false });

  it("parse into a keyring, the first key first, and default to the service's development key", () => {
    const env = parseEnv("products", schema, { SIGNING_KEYS: REAL_KEYS, SIGNING_WINDOW: "10s", SIGNING_REPLAY_CHECK: "all" });
    expect(env.SIGNING_KEYS.map((k) => k.kid)).toEqual(["k2", "k1"]);
    expect(env.SIGNING_KEYS[0]!.key).toEqual(Buffer.alloc(32, 2));
    expect(env).toMatchObject({ SIGNING_WINDOW: 10_000, SIGNING_REPLAY_CHECK: "all" });
    // Development: derived from the public development master, so every local process agrees without setup.
    expect(parseEnv("products", schema, {}).SIGNING_KEYS).toEqual(serviceKeyring(devMasterKeyring(), "products"));
  });

  it("name what is wrong with a malformed keyring", () => {
    const problems = (env: Record<string, string>) => configErrorOf(() => parseEnv("products", schema, env)).problems;
    expect(problems({ SIGNING_KEYS: "nokey" })).toEqual([expect.stringMatching(/^SIGNING_KEYS: .*expected kid:<base64url>/)]);
    expect(problems({ SIGNING_KEYS: `k1:${Buffer.alloc(8).toString("base64url")}` })).toEqual([
      expect.stringMatching(/^SIGNING_KEYS: key k1: 8 bytes, at least 32 needed/),
    ]);
    expect(problems({ SIGNING_KEYS: `k1:${Buffer.alloc(32).toString("base64url")},k1:${Buffer.alloc(32).toString("base64url")}` })).toEqual(
      ["SIGNING_KEYS: key id k1 appears twice"],
    );
  });

  it("are required in production, and workers (which serve no signed requests) need none", () => {
    expect(configErrorOf(() => parseEnv("products", schema, { NODE_ENV: "production" })).problems).toEqual([
      "SIGNING_KEYS: must be set in production (the development key is public): make keys with `npm run keys`",
    ]);
    expect(parseEnv("products", schema, { NODE_ENV: "production", SIGNING_KEYS: REAL_KEYS }).NODE_ENV).toBe("production");
    const worker = parseEnv("products worker", workerSchema, { NODE_ENV: "production" });
    expect(worker).not.toHaveProperty("SIGNING_KEYS");
  });
});

describe("port", () => {
  it.each([
    ["0", 0],
    ["80", 80],
    ["65535", 65535],
    [" 4001 ", 4001],
  ])("parses %j as %d", (raw, expected) => {
    expect(one(port(1), raw)).toBe(expected);
  });

  it("uses the default when unset", () => {
    expect(one(port(4002), undefined)).toBe(4002);
  });

  it.each(["65536", "-1", "80.5", "0x50", "1e3", "eighty", "80 80"])("rejects %j", (raw) => {
    expect(problemOf(port(1), raw)).toEqual([`V: must be a port number from 0 to 65535 (got "${raw}")`]);
  });
});

describe("booleanFlag", () => {
  it.each([
    ["true", true],
    ["TRUE", true],
    ["True", true],
    ["1", true],
    ["yes", true],
    [" Yes ", true],
    ["false", false],
    ["FALSE", false],
    ["0", false],
    ["no", false],
    ["No", false],
  ])("parses %j as %s", (raw, expected) => {
    expect(one(booleanFlag(!expected), raw)).toBe(expected);
  });

  it("uses the default when unset", () => {
    expect(one(booleanFlag(true), undefined)).toBe(true);
    expect(one(booleanFlag(false), undefined)).toBe(false);
  });

  it.each(["maybe", "on", "2", "truee"])("rejects %j", (raw) => {
    expect(problemOf(booleanFlag(false), raw)[0]).toMatch(/^V: must be true or false/);
  });
});

describe("durationMs", () => {
  it.each([
    ["250", 250],
    ["250ms", 250],
    ["30s", 30_000],
    ["1.5s", 1500],
    ["15m", 900_000],
    ["1h", 3_600_000],
    ["2 h", 7_200_000],
    ["0", 0],
  ])("parses %j as %d ms", (raw, expected) => {
    expect(one(durationMs("1s"), raw)).toBe(expected);
  });

  it("parses its default", () => {
    expect(one(durationMs("15m"), undefined)).toBe(900_000);
  });

  it.each(["-5s", "1d", "s", "1h30m", "fast", "1,5s"])("rejects %j", (raw) => {
    expect(problemOf(durationMs("1s"), raw)).toEqual([`V: must be a duration such as 500ms, 30s, 15m or 1h (got "${raw}")`]);
  });
});

describe("loadEnvOrExit", () => {
  const require = createRequire(import.meta.url);
  const tsxCli = require.resolve("tsx/cli");
  const script = fileURLToPath(new URL("./fixtures/load-bad-env.ts", import.meta.url));
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, [tsxCli, script], {
      // Only what the child needs: a stray DATABASE_URL in the developer's shell must not change the outcome.
      env: { PATH: process.env["PATH"] ?? "", ...env },
      encoding: "utf8",
      timeout: 30_000,
    });

  it("exits with status 1 and prints every problem to stderr", () => {
    const result = run({ NODE_ENV: "production", PORT: "99999", LOG_LEVEL: "" });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("Invalid configuration for fixture (3 problems):");
    expect(result.stderr).toContain('  - PORT: must be a port number from 0 to 65535 (got "99999")');
    expect(result.stderr).toContain("  - DATABASE_URL: is required but not set");
    expect(result.stderr).toContain("  - JWT_PRIVATE_KEY: must be set in production (no insecure default)");
    // A readable message, not a crash: no stack trace.
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("starts normally with a valid environment", () => {
    const result = run({ NODE_ENV: "development", DATABASE_URL: "postgres://127.0.0.1/db", PORT: "4100" });
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe("started on port 4100\n");
    expect(result.status).toBe(0);
  });
});
