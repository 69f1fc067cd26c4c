/** Configuration of the benchmark's own target processes (the gateways under test read theirs). */
import { loadEnvOrExit, port, z } from "@ecom/config";

const targetSchema = z.object({
  PORT: port(0),
  HOST: z.string().default("127.0.0.1"),
  /** The supergraph the target serves (the bench writes one with the URLs of its subgraphs). */
  SUPERGRAPH_PATH: z.string().min(1),
  /** The bench's master signing keys (peer gateways sign their subgraph calls with them). */
  SIGNING_KEYS: z.string().optional(),
});

/** The environment of a bench target process. */
export function benchTargetEnv() {
  return loadEnvOrExit("bench target", targetSchema, process.env);
}
