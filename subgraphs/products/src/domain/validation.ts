import { z } from "@ecom/config";
import { isUuid } from "@ecom/service";

/** Upper-case letters and digits in dash-separated groups, e.g. `ELE-0101`, 3 to 32 characters. */
export const SKU_PATTERN = /^[A-Z0-9]+(?:-[A-Z0-9]+)*$/;
/** ISO 4217 alphabetic code. */
export const CURRENCY_PATTERN = /^[A-Z]{3}$/;
/** Highest accepted price in minor units: 1,000,000.00 in a two-decimal currency (a typo guard, well inside Int). */
export const MAX_PRICE_AMOUNT = 100_000_000;
export const DEFAULT_CURRENCY = "USD";

const sku = z
  .string()
  .min(3, "must be at least 3 characters")
  .max(32, "must be at most 32 characters")
  .regex(SKU_PATTERN, "must be upper-case letters and digits in dash-separated groups, e.g. ELE-0101");
const name = z.string().trim().min(1, "must not be empty").max(200, "must be at most 200 characters");
const description = z.string().trim().max(5000, "must be at most 5000 characters");
const priceAmount = z
  .number()
  .int("must be an integer number of minor units")
  .positive("must be greater than 0")
  .max(MAX_PRICE_AMOUNT, `must be at most ${MAX_PRICE_AMOUNT} minor units`);
const currency = z.string().regex(CURRENCY_PATTERN, "must be an ISO 4217 code of three capital letters, e.g. USD");
const id = z.string().refine(isUuid, "must be a UUID");

/** createProduct input rules. A missing or null currency is USD. */
export const createProductInputSchema = z.object({
  sku,
  name,
  description,
  priceAmount,
  currency: z.preprocess((v) => v ?? DEFAULT_CURRENCY, currency),
  categoryId: id,
});

export type CreateProductInput = z.infer<typeof createProductInputSchema>;

/** updateProduct input rules: every field optional; an explicit null is refused (no field is nullable). */
export const updateProductInputSchema = z.object({
  sku: sku.optional(),
  name: name.optional(),
  description: description.optional(),
  priceAmount: priceAmount.optional(),
  currency: currency.optional(),
  categoryId: id.optional(),
});

export type UpdateProductInput = z.infer<typeof updateProductInputSchema>;
