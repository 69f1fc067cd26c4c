import { z } from "@ecom/config";
import { isUuid } from "@ecom/service";

/** Largest quantity one restock adds. */
export const MAX_RESTOCK_QUANTITY = 1_000_000;
/** Largest on-hand count a stock item holds (the column is a Postgres integer). */
export const MAX_ON_HAND = 2_147_483_647;

/** Units that can be ordered: on hand minus reserved (never negative). */
export function availableUnits(item: { onHand: number; reserved: number }): number {
  return Math.max(0, item.onHand - item.reserved);
}

/** restock arguments. UUIDs are stored lower-case (Postgres prints them so), so loader keys agree. */
export const restockArgsSchema = z.object({
  productId: z
    .string()
    .refine(isUuid, "must be a UUID")
    .transform((id) => id.toLowerCase()),
  quantity: z
    .number()
    .int("must be an integer")
    .min(1, "must be at least 1")
    .max(MAX_RESTOCK_QUANTITY, `must be at most ${MAX_RESTOCK_QUANTITY}`),
});

export type RestockArgs = z.infer<typeof restockArgsSchema>;

/** lowStock arguments. */
export const lowStockArgsSchema = z.object({
  threshold: z.number().int().min(0, "must be at least 0").max(MAX_RESTOCK_QUANTITY, `must be at most ${MAX_RESTOCK_QUANTITY}`).default(5),
  first: z.number().int().min(1, "must be at least 1").max(100, "must be at most 100").default(20),
});
