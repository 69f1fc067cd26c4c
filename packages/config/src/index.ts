/**
 * Typed configuration from the environment.
 *
 * Each deployable declares one zod schema in its `env.ts` and calls {@link loadEnvOrExit} with `process.env`.
 * Every problem is collected and reported at once, so a misconfigured deployment is fixed in one round trip.
 */
import { z } from "zod";
import { databaseEnv, executionLimitsEnv, httpLimitsEnv, queryLimitsEnv } from "./limits.ts";
import { refuseDevSigningKeysInProduction, subgraphSigningEnv } from "./signing.ts";
import { databaseUrlFor, SUBGRAPHS, type SubgraphName } from "./topology.ts";

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
 * Parses `env` with `schema`. Empty strings count as unset, so `FOO=` falls back to the default. Without `NODE_ENV`,
 * `HOST` defaults to 127.0.0.1 and a non-loopback `HOST` is refused (a deployment must say it is one).
 * @throws ConfigError listing every problem.
 */
export function parseEnv<S extends z.ZodType>(service: string, schema: S, env: RawEnv): z.infer<S> {
  const cleaned: RawEnv = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined && value !== "") cleaned[key] = value;
  // A process that is not told where it runs stays on this machine (see implicitNodeEnvProblem).
  const defaultHost = defaultHostOf(schema);
  if (cleaned["NODE_ENV"] === undefined && cleaned["HOST"] === undefined && defaultHost !== undefined) cleaned["HOST"] = "127.0.0.1";
  const result = schema.safeParse(cleaned);
  const problems = result.success
    ? []
    : result.error.issues.map((issue) => {
        const name = issue.path.length > 0 ? issue.path.join(".") : "(environment)";
        const received = issue.path.length > 0 ? cleaned[String(issue.path[0])] : undefined;
        const message = received === undefined && issue.code === "invalid_type" ? "is required but not set" : issue.message;
        return `${name}: ${message}`;
      });
  const implicit = implicitNodeEnvProblem(cleaned, cleaned["HOST"]);
  if (implicit) problems.push(implicit);
  if (result.success && problems.length === 0) return result.data;
  throw new ConfigError(service, problems);
}

/** True for an address only this machine can reach: `localhost`, 127.0.0.0/8, `::1`. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1");
  return h === "localhost" || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h) || /^::ffff:127(\.\d{1,3}){3}$/.test(h);
}

/**
 * A process that does not say which environment it runs in must not listen beyond this machine: `NODE_ENV`
 * defaults to development (development secrets, stack traces, Sandbox), which a deployment that forgot it must not
 * get. So without `NODE_ENV`, {@link parseEnv} defaults `HOST` to 127.0.0.1 (local development keeps working),
 * and refuses a `HOST` set to anything but a loopback address, for every schema with `HOST`.
 */
function implicitNodeEnvProblem(cleaned: RawEnv, host: unknown): string | undefined {
  if (cleaned["NODE_ENV"] !== undefined || typeof host !== "string" || isLoopbackHost(host)) return undefined;
  return (
    `NODE_ENV: is not set, and HOST=${host} listens beyond this machine: set NODE_ENV=production for a deployment ` +
    "(or NODE_ENV=development to develop on every interface, or HOST=127.0.0.1)"
  );
}

/** The default of a schema's `HOST` ({@link baseEnv}'s), or undefined when it has none (a script that does not listen). */
function defaultHostOf(schema: z.ZodType): string | undefined {
  const shape = (schema as unknown as { shape?: Record<string, z.ZodType> }).shape;
  const field = shape?.["HOST"];
  if (!field) return undefined;
  const parsed = field.safeParse(undefined);
  return parsed.success && typeof parsed.data === "string" ? parsed.data : undefined;
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

/**
 * A TCP port, 0 to 65535 (0 lets the OS choose, used by tests). Only plain decimal digits are accepted: `Number()`
 * would also take `0x50`, `1e3` or `80.0`, which are typos rather than ports.
 */
export const port = (defaultPort: number) =>
  z
    .string()
    .default(String(defaultPort))
    .transform((v, ctx) => {
      const n = /^\d{1,5}$/.test(v.trim()) ? Number(v.trim()) : Number.NaN;
      if (!Number.isInteger(n) || n > 65535) {
        ctx.addIssue({ code: "custom", message: `must be a port number from 0 to 65535 (got "${v}")` });
        return z.NEVER;
      }
      return n;
    });

/** An http(s) URL. */
export const httpUrl = () => z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });

/** A `postgres://` URL. */
export const postgresUrl = () =>
  z.string().regex(/^postgres(ql)?:\/\/.+/, "must be a postgres:// URL, e.g. postgres://user:password@127.0.0.1:5432/db");

/** A `redis://` URL. */
export const redisUrl = () => z.string().regex(/^rediss?:\/\/.+/, "must be a redis:// URL, e.g. redis://127.0.0.1:6379/0");

const TRUE_WORDS: ReadonlySet<string> = new Set(["true", "1", "yes"]);
const FALSE_WORDS: ReadonlySet<string> = new Set(["false", "0", "no"]);

/** `true`/`false`/`1`/`0`/`yes`/`no`, case-insensitive, surrounding spaces ignored. */
export const booleanFlag = (defaultValue: boolean) =>
  z
    .string()
    .default(defaultValue ? "true" : "false")
    .transform((v, ctx) => {
      const word = v.trim().toLowerCase();
      if (TRUE_WORDS.has(word)) return true;
      if (FALSE_WORDS.has(word)) return false;
      ctx.addIssue({ code: "custom", message: `must be true or false (also 1/0, yes/no; got "${v}")` });
      return z.NEVER;
    });

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
 * Second argument of `.superRefine` for cross-variable rules: run the rule even when some other variable is
 * invalid. By default zod skips an object's refinements as soon as one field fails, so a production deployment
 * with a bad `PORT` would not also hear that `JWT_PRIVATE_KEY` is missing (two round trips instead of one).
 * Rules given this must tolerate values of the wrong type ({@link requiredInProduction} and
 * `refuseDevSigningKeysInProduction` do).
 *
 * @example z.object({...}).superRefine(requiredInProduction(["JWT_PRIVATE_KEY"]), evenIfOtherVariablesFail)
 */
export const evenIfOtherVariablesFail = {
  when: (payload: { value: unknown }): boolean => typeof payload.value === "object" && payload.value !== null,
};

/**
 * Adds a problem for each named key that is unset when `NODE_ENV` is `production`: development defaults that
 * would be insecure in production (a generated signing key, a well-known secret) must then be set explicitly.
 * Use in `.superRefine(requiredInProduction(["JWT_PRIVATE_KEY"]), evenIfOtherVariablesFail)` on an object schema
 * with `NODE_ENV` (without the second argument the rule is skipped while another variable is invalid).
 */
export function requiredInProduction<T extends { NODE_ENV: string }>(keys: ReadonlyArray<keyof T & string>) {
  return (value: T, ctx: z.RefinementCtx) => {
    if (value?.NODE_ENV !== "production") return;
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
  /** Interface to listen on. @default "0.0.0.0" ("127.0.0.1" when NODE_ENV is not set: see parseEnv) */
  HOST: z.string().default("0.0.0.0"),
};

/**
 * Graceful shutdown of a long-running process (packages/service `runUntilSignal` reads them through
 * `shutdownTimings`): on SIGTERM readiness answers 503 at once and the process keeps serving for
 * `SHUTDOWN_DELAY` (so load balancers stop sending), then stops accepting and lets in-flight requests and jobs
 * finish for up to `DRAIN_TIMEOUT`; it exits by force only after both plus a margin. Kubernetes'
 * `terminationGracePeriodSeconds` must outlast the preStop pause plus that (k8s:check verifies it).
 */
export const shutdownEnv = {
  /** How long readiness fails before the listener closes. @default "0s" (Kubernetes sets it with its preStop pause) */
  SHUTDOWN_DELAY: durationMs("0s"),
  /** How long in-flight requests and jobs may take to finish once stopping. @default "10s" */
  DRAIN_TIMEOUT: durationMs("10s"),
};

/**
 * Where the control plane lives: the service registry and the live configuration are Redis keys under
 * `CONTROL_PLANE_PREFIX` on `REDIS_URL`. Every process of one environment must use the same pair.
 */
export const controlPlaneEnv = {
  REDIS_URL: redisUrl().default("redis://127.0.0.1:6379/0"),
  /** Prefix of the registry and live configuration keys. @default "ecom:" */
  CONTROL_PLANE_PREFIX: z
    .string()
    .regex(/^[\w:.-]{0,100}$/, "must be letters, digits, _, -, . and : (e.g. ecom:)")
    .default("ecom:"),
};

/**
 * Service discovery of a subgraph instance (see packages/discovery): in `registry` mode it registers itself in
 * Redis (with a TTL heartbeat) and the gateway balances across the registered instances; in `static` mode (DNS,
 * Kubernetes Services) nothing registers and the gateway calls the configured URL.
 */
export const discoveryEnv = {
  /** `static` (URLs from configuration; the platform balances) or `registry`. @default "static" */
  DISCOVERY_MODE: z.enum(["static", "registry"]).default("static"),
  /** Lifetime of a registration without a heartbeat: how long a crashed instance stays listed. @default 10s */
  DISCOVERY_TTL: durationMs("10s"),
  /** The URL of `/graphql` other processes reach this instance at. @default http://<HOST>:<PORT>/graphql */
  ADVERTISE_URL: httpUrl().optional(),
  /** The release, for canary routing (the instance's `version` tag). @default "stable" */
  SERVICE_VERSION: z.string().min(1).max(100).default("stable"),
  /** The build (git sha, image tag). @default "dev" */
  BUILD_VERSION: z.string().min(1).max(200).default("dev"),
  /** More registry tags, `key=value` separated by commas (e.g. `zone=a,pool=blue`). @default "" */
  SERVICE_TAGS: z
    .string()
    .default("")
    .transform((v, ctx) => {
      const tags: Record<string, string> = {};
      for (const part of v
        .split(",")
        .map((p) => p.trim())
        .filter(Boolean)) {
        const m = /^([\w.-]+)=(.*)$/.exec(part);
        if (!m) {
          ctx.addIssue({ code: "custom", message: `must be key=value pairs separated by commas (got "${part}")` });
          return z.NEVER;
        }
        tags[m[1]!] = m[2]!;
      }
      return tags;
    }),
};

/** Options of {@link subgraphEnvSchema}. */
export interface SubgraphEnvOptions<Key extends string> {
  /**
   * Variables of the extra shape that must be set in production (their development default is insecure), checked
   * with {@link requiredInProduction}.
   * @default []
   */
  requiredInProduction?: readonly Key[];
  /**
   * The process serves signed requests (`SIGNING_KEYS`, `SIGNING_WINDOW`, `SIGNING_REPLAY_CHECK`). Workers,
   * which serve none, pass false and need no signing key.
   * @default true
   */
  signing?: boolean;
}

/**
 * The env schema of a subgraph: {@link baseEnv}, {@link shutdownEnv}, `SIGNING_*` ({@link subgraphSigningEnv}), `PORT` (default from the port table,
 * {@link SUBGRAPHS}), `DATABASE_URL` (default {@link databaseUrlFor}`(name)`), the limits every subgraph has
 * (`QUERY_MAX_*`, `DB_*`, `HTTP_*`, `RESULT_*`, `DATALOADER_MAX_BATCH`), then the subgraph's own variables (`extra`).
 * Production rules (`options.requiredInProduction`, then {@link refuseDevSigningKeysInProduction}) run even
 * when another variable is invalid ({@link evenIfOtherVariablesFail}), so every problem is reported at once.
 *
 * @example
 * export const envSchema = subgraphEnvSchema("orders", { PRODUCTS_URL: httpUrl().default("http://localhost:4002/graphql") });
 */
export function subgraphEnvSchema<Extra extends z.ZodRawShape = Record<never, never>>(
  name: SubgraphName,
  extra: Extra = {} as Extra,
  options: SubgraphEnvOptions<keyof Extra & string> = {},
) {
  const shape = {
    ...baseEnv,
    ...shutdownEnv,
    // Typed as present either way (zod cannot type a conditional spread); a worker's env simply never has them.
    ...((options.signing === false ? {} : subgraphSigningEnv(name)) as ReturnType<typeof subgraphSigningEnv>),
    PORT: port(SUBGRAPHS[name]),
    DATABASE_URL: postgresUrl().default(databaseUrlFor(name)),
    ...controlPlaneEnv,
    ...discoveryEnv,
    ...queryLimitsEnv,
    ...databaseEnv,
    ...httpLimitsEnv,
    ...executionLimitsEnv,
    ...extra,
  };
  type Common = { NODE_ENV: string } & Record<string, unknown>;
  const required = requiredInProduction<Common>(options.requiredInProduction ?? []);
  // `unknown`: zod cannot spell the output type of a shape that is still generic here (it is the caller's).
  const productionRules = (value: unknown, ctx: z.RefinementCtx) => {
    required(value as Common, ctx);
    refuseDevSigningKeysInProduction(value, ctx);
  };
  return z.object(shape).superRefine(productionRules, evenIfOtherVariablesFail);
}

export { keyringVariable, gatewaySigningEnv, subgraphSigningEnv, callSigningKeys, refuseDevSigningKeysInProduction } from "./signing.ts";
export {
  costConfigSchema,
  fieldCostSchema,
  listSizeSchema,
  queryLimitsSchema,
  queryLimitsEnv,
  databaseEnv,
  httpLimitsEnv,
  executionLimitsEnv,
  LIMIT_RULES,
} from "./limits.ts";
export type {
  CostConfig,
  CostConfigInput,
  FieldCost,
  LimitRule,
  ListSize,
  QueryLimits,
  QueryLimitsEnv,
  QueryLimitsInput,
} from "./limits.ts";
export {
  GATEWAY_PORT,
  SUBGRAPHS,
  SUBGRAPH_NAMES,
  isSubgraphName,
  subgraphUrlVariable,
  defaultSubgraphUrl,
  databaseUrlFor,
  WORKER_PORT_OFFSET,
  workerPort,
  QUEUE_DASHBOARD_PORT,
} from "./topology.ts";
export type { SubgraphName, DatabaseUrlOptions } from "./topology.ts";
