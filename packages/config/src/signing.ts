/**
 * Configuration of signed subgraph calls (packages/auth signing.ts): the keyrings, the validity window and the
 * replay check. Development and test default to keys derived from a public development master key, so a local
 * platform needs no configuration; production refuses them (make real ones with `npm run keys`).
 */
import {
  DEV_SIGNING_KID,
  devMasterKeyring,
  formatKeyring,
  pairKeyringFromMaster,
  parseKeyring,
  serviceKeyring,
  type Keyring,
} from "@ecom/auth";
import { z } from "zod";
import { durationMs } from "./index.ts";

/** A keyring variable (`kid:<base64url>[,kid:<base64url>]`, first signs, all verify) with a development default. */
export const keyringVariable = (developmentDefault: Keyring) =>
  z
    .string()
    .default(formatKeyring(developmentDefault))
    .transform((text, ctx): Keyring => {
      try {
        return parseKeyring(text);
      } catch (error) {
        ctx.addIssue({ code: "custom", message: (error as Error).message });
        return z.NEVER;
      }
    });

/** The gateway's `SIGNING_KEYS`: the master keys (it derives the key of every subgraph from them). */
export const gatewaySigningEnv = {
  /** Master keys, `kid:<base64url>,...`: the first signs; keep the previous one second while rotating. */
  SIGNING_KEYS: keyringVariable(devMasterKeyring()),
};

/** A subgraph's `SIGNING_KEYS` (its service keys, derived from the master), window and replay check. */
export const subgraphSigningEnv = (service: string) => ({
  /** This subgraph's service keys (`npm run keys` prints them): every key verifies. */
  SIGNING_KEYS: keyringVariable(serviceKeyring(devMasterKeyring(), service)),
  /** How far a signature's timestamp may be from now, either way. @default "30s" */
  SIGNING_WINDOW: durationMs("30s"),
  /**
   * Which signed requests must carry a nonce never seen before (remembered in Redis for the window):
   * `mutations` (default: a replayed write is refused; a replayed read only returns again what it returned) or `all`.
   */
  SIGNING_REPLAY_CHECK: z.enum(["mutations", "all"]).default("mutations"),
});

/** A variable holding K(caller -> target), for a service that calls another (orders' `PRODUCTS_SIGNING_KEYS`). */
export const callSigningKeys = (caller: string, target: string) =>
  keyringVariable(pairKeyringFromMaster(devMasterKeyring(), caller, target));

/**
 * Refuses, in production, every `*SIGNING_KEYS` variable still holding a development key (key id `dev`, which
 * is what an unset variable defaults to): the development master key is public.
 */
export function refuseDevSigningKeysInProduction(value: unknown, ctx: z.RefinementCtx): void {
  const env = value as Record<string, unknown> | null;
  if (env?.["NODE_ENV"] !== "production") return;
  for (const [name, keyring] of Object.entries(env)) {
    if (!name.endsWith("SIGNING_KEYS") || !Array.isArray(keyring)) continue;
    if ((keyring as Keyring).some((k) => k.kid === DEV_SIGNING_KID))
      ctx.addIssue({
        code: "custom",
        path: [name],
        message: "must be set in production (the development key is public): make keys with `npm run keys`",
      });
  }
}
