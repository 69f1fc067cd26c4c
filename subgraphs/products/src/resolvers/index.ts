import { requireRole } from "@ecom/auth";
import { badUserInput, notFound } from "@ecom/errors";
import { isUuid, parseInput, parsePageArgs, toConnection } from "@ecom/service";
import type { Resolvers } from "../__generated__/resolvers-types.ts";
import { isCatalogWriteError, type CatalogRepository, type CatalogWriteError, type ProductRecord } from "../datasources/catalog.ts";
import { cursorOf, isProductCursor, type ProductConnectionRecord } from "../domain/pagination.ts";
import { createProductInputSchema, updateProductInputSchema } from "../domain/validation.ts";

/** What the resolvers need beyond the request context. */
export interface ResolverDeps {
  catalog: CatalogRepository;
}

/** The coded error a refused write becomes. */
function writeErrorToGraphQL(error: CatalogWriteError, productId?: string) {
  switch (error.reason) {
    case "SKU_TAKEN":
      return badUserInput("This SKU is already used by another product.", { field: "input.sku" });
    case "UNKNOWN_CATEGORY":
      return badUserInput("No category has this id.", { field: "input.categoryId" });
    case "PRODUCT_NOT_FOUND":
      return notFound("Product", productId ?? "");
    default: {
      const unexpected: never = error.reason;
      return unexpected;
    }
  }
}

/** The products subgraph's resolvers. */
export function createResolvers(deps: ResolverDeps): Resolvers {
  const { catalog } = deps;

  return {
    Query: {
      // A malformed id cannot exist: null, like an unknown one.
      product: (_parent, { id }, ctx) => ctx.loaders.productById.load(id),
      products: async (_parent, args, ctx): Promise<ProductConnectionRecord> => {
        const categoryId = args.categoryId ?? null;
        if (categoryId !== null && !isUuid(categoryId)) throw badUserInput("categoryId must be a UUID.", { field: "categoryId" });
        const { take, after } = parsePageArgs(args, isProductCursor);
        // One row more than asked tells whether a next page exists.
        const rows = await catalog.pageProducts({ limit: take + 1, after, categoryId });
        // Pages are often followed by lookups of the same products (e.g. _entities): prime the request's loader.
        for (const row of rows) ctx.loaders.productById.prime(row.id, row);
        let count: Promise<number> | undefined;
        return {
          ...toConnection<ProductRecord, ProductRecord>(rows, take, cursorOf, (row) => row),
          totalCount: () => (count ??= catalog.countProducts({ categoryId })),
        };
      },
      categories: () => catalog.listCategories(),
    },
    Mutation: {
      createProduct: async (_parent, { input }, ctx) => {
        requireRole(ctx.identity, "ADMIN");
        const data = parseInput(createProductInputSchema, input, "input");
        try {
          return await catalog.createProduct(data);
        } catch (error) {
          if (isCatalogWriteError(error)) throw writeErrorToGraphQL(error);
          throw error;
        }
      },
      updateProduct: async (_parent, { id, input }, ctx) => {
        requireRole(ctx.identity, "ADMIN");
        if (!isUuid(id)) throw notFound("Product", id);
        const data = parseInput(updateProductInputSchema, input, "input");
        try {
          return await catalog.updateProduct(id, data);
        } catch (error) {
          if (isCatalogWriteError(error)) throw writeErrorToGraphQL(error, id);
          throw error;
        }
      },
    },
    ProductConnection: {
      totalCount: (connection) => connection.totalCount(),
    },
    Product: {
      // Other subgraphs reference products by id only; unknown (or malformed) ids resolve to null.
      __resolveReference: (ref, ctx) => ctx.loaders.productById.load(ref.id),
      price: (product) => ({ amount: product.priceAmount, currency: product.currency }),
      category: async (product, _args, ctx) => {
        const category = await ctx.loaders.categoryById.load(product.categoryId);
        // The foreign key guarantees it; a miss means the database is broken, not the request.
        if (!category) throw new Error(`Category ${product.categoryId} of product ${product.id} is missing.`);
        return category;
      },
    },
    Category: {
      __resolveReference: (ref, ctx) => ctx.loaders.categoryById.load(ref.id),
    },
  };
}
