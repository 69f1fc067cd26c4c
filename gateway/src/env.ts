import { fileURLToPath } from "node:url";
import {
  GATEWAY_PORT,
  SUBGRAPHS,
  SUBGRAPH_NAMES,
  baseEnv,
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
    PORT: port(GATEWAY_PORT),
    /** Where the users subgraph publishes the public keys of access tokens. */
    JWKS_URL: httpUrl().default(`http://localhost:${SUBGRAPHS.users}/.well-known/jwks.json`),
    JWT_ISSUER: z.string().default("ecom-users"),
    JWT_AUDIENCE: z.string().default("ecom-gateway"),
    /** Per-subgraph request timeout; a subgraph slower than this is SUBGRAPH_UNAVAILABLE for that request. */
    SUBGRAPH_TIMEOUT: durationMs("5s"),
    /** The supergraph SDL; a relative path is resolved from the working directory. */
    SUPERGRAPH_PATH: z.string().default(DEFAULT_SUPERGRAPH_PATH),
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
