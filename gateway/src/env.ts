import { fileURLToPath } from "node:url";
import {
  SUBGRAPH_NAMES,
  baseEnv,
  booleanFlag,
  durationMs,
  evenIfOtherVariablesFail,
  httpUrl,
  internalSecretEnv,
  loadEnvOrExit,
  port,
  refuseDevSecretInProduction,
  shutdownEnv,
  subgraphUrlVariable,
  z,
  type RawEnv,
} from "@ecom/config";

/** `gateway/supergraph.graphql`, written by `npm run compose`. */
export const DEFAULT_SUPERGRAPH_PATH = fileURLToPath(new URL("../supergraph.graphql", import.meta.url));

// SUBGRAPH_USERS_URL, SUBGRAPH_PRODUCTS_URL...: one optional override per subgraph of the port table. Unset, a
// subgraph is reached at the URL the supergraph names (http://localhost:<port>/graphql).
const subgraphUrlEnv = Object.fromEntries(SUBGRAPH_NAMES.map((name) => [subgraphUrlVariable(name), httpUrl().optional()]));

/** Configuration of the gateway. */
export const envSchema = z
  .object({
    ...baseEnv,
    ...shutdownEnv,
    ...internalSecretEnv,
    PORT: port(4000),
    /** Where the users subgraph publishes the public keys of access tokens. */
    JWKS_URL: httpUrl().default("http://localhost:4001/.well-known/jwks.json"),
    JWT_ISSUER: z.string().default("ecom-users"),
    JWT_AUDIENCE: z.string().default("ecom-gateway"),
    /** Per-subgraph request timeout; a subgraph slower than this is SUBGRAPH_UNAVAILABLE for that request. */
    SUBGRAPH_TIMEOUT: durationMs("5s"),
    /** The supergraph SDL; a relative path is resolved from the working directory. */
    SUPERGRAPH_PATH: z.string().default(DEFAULT_SUPERGRAPH_PATH),
    /** Watch SUPERGRAPH_PATH and swap in each valid new version without a restart (an invalid one is refused). */
    SUPERGRAPH_WATCH: booleanFlag(true),
    /** How often the supergraph file is checked for changes. */
    SUPERGRAPH_WATCH_INTERVAL: durationMs("1s"),
    ...subgraphUrlEnv,
  })
  .superRefine(refuseDevSecretInProduction, evenIfOtherVariablesFail);

export type Env = z.infer<typeof envSchema>;

/** Parses the environment; exits with every problem listed when invalid. */
export function loadEnv(env: RawEnv = process.env): Env {
  return loadEnvOrExit("gateway", envSchema, env);
}

/** The subgraph URL overrides set in `env`, by subgraph name. */
export function subgraphUrlOverrides(env: Env): Record<string, string> {
  const overrides: Record<string, string> = {};
  const values = env as unknown as Record<string, unknown>;
  for (const name of SUBGRAPH_NAMES) {
    const value = values[subgraphUrlVariable(name)];
    if (typeof value === "string") overrides[name] = value;
  }
  return overrides;
}
