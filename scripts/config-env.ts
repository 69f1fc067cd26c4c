import { controlPlaneEnv, loadEnvOrExit, z, type RawEnv } from "@ecom/config";

/** Configuration of `npm run config`: where the live configuration is, and who is changing it. */
export const configEnvSchema = z.object({
  ...controlPlaneEnv,
  /** Recorded as the author of a change when `--author` is not given. */
  USER: z.string().default("unknown"),
});

export function loadConfigEnv(env: RawEnv = process.env) {
  return loadEnvOrExit("npm run config", configEnvSchema, env);
}
