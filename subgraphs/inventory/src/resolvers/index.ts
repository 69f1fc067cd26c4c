import { requireRole } from "@ecom/auth";
import { badUserInput, notFound } from "@ecom/errors";
import { parseInput } from "@ecom/service";
import type { Resolvers } from "../__generated__/resolvers-types.ts";
import type { StockRepository } from "../datasources/stock.ts";
import { availableUnits, lowStockArgsSchema, MAX_ON_HAND, restockArgsSchema } from "../domain/stock.ts";

/** What the resolvers need beyond the request context. */
export interface ResolverDeps {
  stock: StockRepository;
}

/** The inventory subgraph's resolvers. */
export function createResolvers(deps: ResolverDeps): Resolvers {
  return {
    Query: {
      lowStock: async (_parent, args, ctx) => {
        requireRole(ctx.identity, "ADMIN");
        // An explicit null means the default, like an omitted argument.
        const { threshold, first } = parseInput(lowStockArgsSchema, {
          threshold: args.threshold ?? undefined,
          first: args.first ?? undefined,
        });
        return deps.stock.findLowStock(threshold, first);
      },
    },
    Mutation: {
      // Inventory knows the catalog from product.created.v1: a product it has not heard of is NOT_FOUND (a product
      // created a moment ago may take a moment to be heard of: retry).
      restock: async (_parent, args, ctx) => {
        requireRole(ctx.identity, "ADMIN");
        const { productId, quantity } = parseInput(restockArgsSchema, args);
        const result = await deps.stock.restock(productId, quantity);
        switch (result.kind) {
          case "restocked":
            return result.item;
          case "unknown-product":
            throw notFound("Product", productId);
          case "overflow":
            throw badUserInput(`quantity would take the stock above ${MAX_ON_HAND} units.`, { field: "quantity" });
          default: {
            const unexpected: never = result;
            throw new Error(`Unknown restock result ${JSON.stringify(unexpected)}`);
          }
        }
      },
    },
    Product: {
      // Never null: a product inventory has not heard of is simply out of stock, so the catalog still renders.
      __resolveReference: (ref, ctx) => ctx.loaders.stockByProductId.load(ref.id),
      stock: (item) => availableUnits(item),
      inStock: (item) => availableUnits(item) > 0,
    },
  };
}
