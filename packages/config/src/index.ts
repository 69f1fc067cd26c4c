/**
 * Typed configuration from the environment.
 *
 * Each deployable declares one zod schema in its `env.ts` and calls {@link loadEnvOrExit} with `process.env`.
 * Every problem is collected and reported at once, so a misconfigured deployment is fixed in one round trip.
 */
import { z } from "zod";

export { z };

/** Thrown by {@link parseEnv} with every problem found, one per line. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly brand = "ConfigError" as const;
  constructor(
    /** The deployable whose configuration failed, e.g. `gateway`. */
    readonly service: string,
    /** One readable line per problem: `NAME: what is wrong`. */
    readonly problems: readonly string[],
  ) {
    super(
      `Invalid configuration for ${service} (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p}`).join("\n") +
        "\nSet these environment variables (see README, Configuration) and start again.",
    );
  }
}

/** True when `error` is a {@link ConfigError}, also across module copies. */
export function isConfigError(error: unknown): error is ConfigError {
  return typeof error === "object" && error !== null && (error as { brand?: unknown }).brand === "ConfigError";
}

/** Environment values as `process.env` holds them. */
export type RawEnv = Record<string, string | undefined>;

/**
 * Parses `env` with `schema`. Empty strings count as unset, so `FOO=` falls back to the default.
 * @throws ConfigError listing every problem.
 */
export function parseEnv<S extends z.ZodType>(service: string, schema: S, env: RawEnv): z.infer<S> {
  const cleaned: RawEnv = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined && value !== "") cleaned[key] = value;
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.length > 0 ? issue.path.join(".") : "(environment)";
    const received = issue.path.length > 0 ? cleaned[String(issue.path[0])] : undefined;
    const message = received === undefined && issue.code === "invalid_type" ? "is required but not set" : issue.message;
    return `${name}: ${message}`;
  });
  throw new ConfigError(service, problems);
}

/**
 * Like {@link parseEnv}, but prints the problems to stderr and exits with status 1: for boot files.
 */
export function loadEnvOrExit<S extends z.ZodType>(service: string, schema: S, env: RawEnv): z.infer<S> {
  try {
    return parseEnv(service, schema, env);
  } catch (error) {
    if (isConfigError(error)) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

/** `development` | `test` | `production`. @default "development" */
export const nodeEnv = z.enum(["development", "test", "production"]).default("development");

/** pino log level. @default "info" */
export const logLevel = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info");

/** A TCP port (0 lets the OS choose, used by tests). */
export const port = (defaultPort: number) => z.coerce.number().int().min(0).max(65535).default(defaultPort);

/** An http(s) URL. */
export const httpUrl = () => z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });

/** A `postgres://` URL. */
export const postgresUrl = () =>
  z.string().regex(/^postgres(ql)?:\/\/.+/, "must be a postgres:// URL, e.g. postgres://user:password@127.0.0.1:5432/db");

/** A `redis://` URL. */
export const redisUrl = () => z.string().regex(/^rediss?:\/\/.+/, "must be a redis:// URL, e.g. redis://127.0.0.1:6379/0");

/** `true`/`false`/`1`/`0`/`yes`/`no` (case-insensitive). */
export const booleanFlag = (defaultValue: boolean) =>
  z
    .enum(["true", "false", "1", "0", "yes", "no", "TRUE", "FALSE", "YES", "NO"], { error: "must be true or false" })
    .default(defaultValue ? "true" : "false")
    .transform((v) => ["true", "1", "yes"].includes(v.toLowerCase()));

/** A duration: a number of milliseconds or a number with a unit (`ms`, `s`, `m`, `h`), e.g. `15m`. */
export const durationMs = (defaultValue: string) =>
  z
    .string()
    .default(defaultValue)
    .transform((v, ctx) => {
      const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(v.trim());
      if (!m) {
        ctx.addIssue({ code: "custom", message: `must be a duration such as 500ms, 30s, 15m or 1h (got "${v}")` });
        return z.NEVER;
      }
      const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "ms") as "ms" | "s" | "m" | "h"];
      return Math.round(Number(m[1]) * factor);
    });

/**
 * Adds a problem for each named key that is unset when `NODE_ENV` is `production`: development defaults that
 * would be insecure in production (a generated signing key, a well-known secret) must then be set explicitly.
 * Use in `.superRefine(requiredInProduction(["JWT_PRIVATE_KEY"]))` on an object schema with `NODE_ENV`.
 */
export function requiredInProduction<T extends { NODE_ENV: string }>(keys: ReadonlyArray<keyof T & string>) {
  return (value: T, ctx: z.RefinementCtx) => {
    if (value.NODE_ENV !== "production") return;
    for (const key of keys) {
      if (value[key] === undefined || value[key] === "") {
        ctx.addIssue({ code: "custom", path: [key], message: "must be set in production (no insecure default)" });
      }
    }
  };
}

/** Settings every deployable shares. */
export const baseEnv = {
  NODE_ENV: nodeEnv,
  LOG_LEVEL: logLevel,
  /** Interface to listen on. @default "0.0.0.0" */
  HOST: z.string().default("0.0.0.0"),
};
