/**
 * The platform's live configuration document: one section per concern, each validated by the schema of the
 * package that owns the concern, so a value the CLI accepts is exactly a value the running policy accepts.
 *
 * ```
 * balancer   strategy and outlier ejection (@ecom/discovery)
 * canary     per subgraph: { version, weight } (@ecom/discovery)
 * flags      feature flags: name -> boolean
 * ```
 */
import { balancerConfigSchema, canaryRouteSchema } from "@ecom/discovery";
import { z } from "zod";

/** Feature flags: `flags.<name>` true or false. */
export const flagsSchema = z.record(z.string().regex(/^[a-zA-Z][\w-]{0,63}$/, "flag names are letters, digits, - and _"), z.boolean());

/** The live configuration of the platform (every field optional: absent means the owner's default). */
export const platformConfigSchema = z
  .object({
    balancer: balancerConfigSchema.default(balancerConfigSchema.parse({})),
    canary: z.record(z.string(), canaryRouteSchema).default({}),
    flags: flagsSchema.default({}),
  })
  .strict();

export type PlatformConfig = z.infer<typeof platformConfigSchema>;
