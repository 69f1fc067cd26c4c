import { createHash } from "node:crypto";
import { z } from "@ecom/config";
import { badUserInput } from "@ecom/errors";
import { isKnownPaymentToken, TEST_TOKENS } from "@ecom/payment-provider";
import { isUuid } from "@ecom/service";

/** Most lines in one order. */
export const MAX_ITEMS = 50;
/** Most units of one product in one order. */
export const MAX_QUANTITY = 100;
/** Largest order total: GraphQL `Int` and the `integer` column are 32-bit. */
export const MAX_TOTAL_AMOUNT = 2_147_483_647;

const IDEMPOTENCY_KEY = /^[A-Za-z0-9_-]{8,100}$/;

/**
 * Rules of `placeOrder`'s input. Product ids are compared in lower case (UUIDs are case-insensitive, Postgres
 * prints them in lower case). A product listed twice is rejected rather than merged: it is almost always a
 * client bug, and merging would hide it and make the 100-unit limit ambiguous.
 */
export const placeOrderInputSchema = z.object({
  items: z
    .array(
      z.object({
        productId: z
          .string()
          .refine(isUuid, "must be a product id (a UUID)")
          .transform((id) => id.toLowerCase()),
        quantity: z
          .number()
          .int("must be a whole number")
          .min(1, `must be between 1 and ${MAX_QUANTITY}`)
          .max(MAX_QUANTITY, `must be between 1 and ${MAX_QUANTITY}`),
      }),
    )
    .min(1, "must have at least one item")
    .max(MAX_ITEMS, `must have at most ${MAX_ITEMS} items`)
    .superRefine((items, ctx) => {
      const seen = new Map<string, number>();
      items.forEach((item, index) => {
        const first = seen.get(item.productId);
        if (first === undefined) seen.set(item.productId, index);
        else
          ctx.addIssue({
            code: "custom",
            path: [index, "productId"],
            message: `repeats the product of items.${first}: list each product once, with the total quantity`,
          });
      });
    }),
  paymentToken: z
    .string()
    .refine(isKnownPaymentToken, `must be a test token of the payment provider (${Object.keys(TEST_TOKENS).join(" or ")})`),
  idempotencyKey: z.string().regex(IDEMPOTENCY_KEY, "must be 8 to 100 characters of A-Z, a-z, 0-9, _ and -"),
});

/** A valid `placeOrder` request. */
export type PlaceOrderRequest = z.infer<typeof placeOrderInputSchema>;

/**
 * sha256 (hex) of the request in a normal form: the lines sorted by product id, and the payment token. The same
 * order sent again with its lines in another order is the same request; anything else reusing the key is not.
 * Versioned so the normal form can change without old hashes matching new requests by accident.
 */
export function requestHashOf(request: Pick<PlaceOrderRequest, "items" | "paymentToken">): string {
  const items = request.items.map((i) => [i.productId.toLowerCase(), i.quantity] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash("sha256")
    .update(JSON.stringify({ v: 1, items, paymentToken: request.paymentToken }))
    .digest("hex");
}

/** A product's current price, as the products subgraph answers. */
export interface ProductPrice {
  id: string;
  /** Minor units. */
  amount: number;
  currency: string;
}

/** A line of a new order, with its unit price snapshot. */
export interface PricedItem {
  productId: string;
  quantity: number;
  unitAmount: number;
  currency: string;
}

/** Everything needed to write a new order. */
export interface NewOrder {
  buyerId: string;
  idempotencyKey: string;
  requestHash: string;
  paymentToken: string;
  currency: string;
  totalAmount: number;
  items: PricedItem[];
}

/**
 * Prices the request's lines with `prices` (aligned with `request.items`; null = unknown product).
 * @throws BAD_USER_INPUT naming every unknown product (`extensions.productIds`), when the products are priced in
 * more than one currency, or when the total does not fit a 32-bit integer.
 */
export function priceOrder(
  request: PlaceOrderRequest,
  prices: ReadonlyArray<ProductPrice | null>,
): Pick<NewOrder, "currency" | "totalAmount" | "items"> {
  const unknown = request.items.flatMap((item, index) => (prices[index] ? [] : [{ index, productId: item.productId }]));
  if (unknown.length > 0) {
    const ids = unknown.map((u) => u.productId);
    throw badUserInput(`Unknown product${ids.length === 1 ? "" : "s"}: ${ids.join(", ")}.`, {
      field: `input.items.${unknown[0]!.index}.productId`,
      productIds: ids,
    });
  }
  const items = request.items.map((item, index) => {
    const price = prices[index]!;
    return { productId: item.productId, quantity: item.quantity, unitAmount: price.amount, currency: price.currency };
  });
  const currencies = [...new Set(items.map((i) => i.currency))];
  if (currencies.length > 1) {
    throw badUserInput(`The products are priced in different currencies (${currencies.join(", ")}): place one order per currency.`, {
      field: "input.items",
      currencies,
    });
  }
  const totalAmount = items.reduce((sum, i) => sum + i.quantity * i.unitAmount, 0);
  if (totalAmount > MAX_TOTAL_AMOUNT) {
    throw badUserInput("The order total is too large: split it into several orders.", { field: "input.items" });
  }
  return { currency: currencies[0]!, totalAmount, items };
}
