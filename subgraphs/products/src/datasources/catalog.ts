import DataLoader from "dataloader";
import type { LoaderOptions } from "@ecom/service";
import { createOutbox } from "@ecom/events";
import { isUuid } from "@ecom/service";
import type { ProductCursor } from "../domain/pagination.ts";
import { Prisma, type PrismaClient } from "../generated/prisma/client.ts";

/** A product as resolvers see it. Prices in minor units. */
export interface ProductRecord {
  id: string;
  sku: string;
  name: string;
  description: string;
  priceAmount: number;
  currency: string;
  categoryId: string;
}

/** A category as resolvers see it. */
export interface CategoryRecord {
  id: string;
  name: string;
  slug: string;
}

const productFields = { id: true, sku: true, name: true, description: true, priceAmount: true, currency: true, categoryId: true } as const;
const categoryFields = { id: true, name: true, slug: true } as const;

/** Why a catalog write was refused. */
export type CatalogWriteFailure = "SKU_TAKEN" | "UNKNOWN_CATEGORY" | "PRODUCT_NOT_FOUND";

/** Thrown by catalog writes that the database refused for a reason the caller can fix. */
export class CatalogWriteError extends Error {
  readonly brand = "CatalogWriteError" as const;
  constructor(readonly reason: CatalogWriteFailure) {
    super(`Catalog write refused: ${reason}.`);
  }
}

/** True when `error` is a {@link CatalogWriteError}. */
export const isCatalogWriteError = (error: unknown): error is CatalogWriteError =>
  (error as { brand?: unknown } | null)?.brand === "CatalogWriteError";

/**
 * The constraint violations a write can hit, translated. The constraints decide (not a read before the write), so
 * two concurrent creates of one SKU cannot both succeed.
 */
function translateWriteError(error: unknown): unknown {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) return error;
  switch (error.code) {
    case "P2002":
      return new CatalogWriteError("SKU_TAKEN");
    case "P2003":
      return new CatalogWriteError("UNKNOWN_CATEGORY");
    case "P2025":
      return new CatalogWriteError("PRODUCT_NOT_FOUND");
    default:
      return error;
  }
}

/** What a product write stores. */
export interface ProductData {
  sku: string;
  name: string;
  description: string;
  priceAmount: number;
  currency: string;
  categoryId: string;
}

/** The products outbox: catalog changes are announced in the transaction that makes them. */
const outbox = createOutbox({ producer: "products" });

/** The event payload of a product: its whole state (consumers keep the newest by aggregate version). */
const snapshotOf = (p: ProductRecord) => ({
  productId: p.id,
  sku: p.sku,
  name: p.name,
  description: p.description,
  priceAmount: p.priceAmount,
  currency: p.currency,
  categoryId: p.categoryId,
});

/** Data access of the products subgraph. */
export class CatalogRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /** Products by id, in the order asked (null where missing): one statement for the whole batch. */
  async findProductsByIds(ids: readonly string[]): Promise<Array<ProductRecord | null>> {
    const valid = [...new Set(ids.filter(isUuid))];
    const rows = valid.length ? await this.prisma.product.findMany({ where: { id: { in: valid } }, select: productFields }) : [];
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id.toLowerCase()) ?? null);
  }

  /** Categories by id, in the order asked (null where missing): one statement for the whole batch. */
  async findCategoriesByIds(ids: readonly string[]): Promise<Array<CategoryRecord | null>> {
    const valid = [...new Set(ids.filter(isUuid))];
    const rows = valid.length ? await this.prisma.category.findMany({ where: { id: { in: valid } }, select: categoryFields }) : [];
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id.toLowerCase()) ?? null);
  }

  /** Every category, by name. */
  listCategories(): Promise<CategoryRecord[]> {
    return this.prisma.category.findMany({ select: categoryFields, orderBy: [{ name: "asc" }, { id: "asc" }] });
  }

  /**
   * Up to `limit` products in catalog order (name, id), strictly after `after`, optionally in one category.
   * Raw SQL for the row-value comparison `(name, id) > (...)`: Postgres walks the (name, id) or
   * (category_id, name, id) index straight to the page, however deep, where an equivalent OR would not.
   */
  pageProducts(options: { limit: number; after: ProductCursor | null; categoryId: string | null }): Promise<ProductRecord[]> {
    const { limit, after, categoryId } = options;
    const inCategory = categoryId === null ? Prisma.sql`TRUE` : Prisma.sql`category_id = ${categoryId}::uuid`;
    const afterCursor = after === null ? Prisma.sql`TRUE` : Prisma.sql`(name, id) > (${after.n}, ${after.i}::uuid)`;
    return this.prisma.$queryRaw<ProductRecord[]>`
      SELECT id::text AS "id", sku, name, description, price_amount AS "priceAmount", currency, category_id::text AS "categoryId"
      FROM products
      WHERE ${inCategory} AND ${afterCursor}
      ORDER BY name, id
      LIMIT ${limit}`;
  }

  /** How many products there are, optionally in one category. */
  countProducts(options: { categoryId: string | null }): Promise<number> {
    return this.prisma.product.count({ where: options.categoryId === null ? {} : { categoryId: options.categoryId } });
  }

  /**
   * Creates a product and writes `product.created.v1` in the same transaction.
   * @throws CatalogWriteError (SKU_TAKEN, UNKNOWN_CATEGORY)
   */
  async createProduct(data: ProductData): Promise<ProductRecord> {
    try {
      return await this.prisma.$transaction(async (tx) => {
        const product = await tx.product.create({ data, select: productFields });
        await outbox.write(tx, { type: "product.created.v1", aggregateId: product.id, payload: snapshotOf(product) });
        return product;
      });
    } catch (error) {
      throw translateWriteError(error);
    }
  }

  /**
   * Changes the given fields of a product and writes `product.updated.v1` (the new state, the changed fields) in the
   * same transaction; a change that changes nothing announces nothing.
   * @throws CatalogWriteError (PRODUCT_NOT_FOUND, SKU_TAKEN, UNKNOWN_CATEGORY)
   */
  async updateProduct(id: string, data: Partial<ProductData>): Promise<ProductRecord> {
    try {
      return await this.prisma.$transaction(async (tx) => {
        // The row lock of FOR UPDATE orders concurrent updates of one product, so "changed" compares with the state
        // this update replaces.
        const [before] = await tx.$queryRaw<ProductRecord[]>`
          SELECT id::text AS "id", sku, name, description, price_amount AS "priceAmount", currency, category_id::text AS "categoryId"
          FROM products WHERE id = ${id}::uuid FOR UPDATE`;
        if (!before) throw new CatalogWriteError("PRODUCT_NOT_FOUND");
        const product = await tx.product.update({ where: { id }, data, select: productFields });
        const changed = (Object.keys(data) as Array<keyof ProductData>).filter((k) => data[k] !== undefined && before[k] !== product[k]);
        if (changed.length > 0) {
          await outbox.write(tx, { type: "product.updated.v1", aggregateId: product.id, payload: { ...snapshotOf(product), changed } });
        }
        return product;
      });
    } catch (error) {
      throw translateWriteError(error);
    }
  }

  /** Creates or updates a category by id (seed). */
  upsertCategory(data: CategoryRecord): Promise<CategoryRecord> {
    return this.prisma.category.upsert({
      where: { id: data.id },
      create: data,
      update: { name: data.name, slug: data.slug },
      select: categoryFields,
    });
  }

  /** Creates or updates a product by id (seed). */
  upsertProduct(data: ProductData & { id: string }): Promise<ProductRecord> {
    const { id, ...fields } = data;
    return this.prisma.product.upsert({ where: { id }, create: data, update: fields, select: productFields });
  }

  /** Row counts (seed report, tests). */
  async counts(): Promise<{ categories: number; products: number }> {
    const [categories, products] = await Promise.all([this.prisma.category.count(), this.prisma.product.count()]);
    return { categories, products };
  }
}

/** The DataLoaders of one request. */
export interface Loaders {
  productById: DataLoader<string, ProductRecord | null>;
  categoryById: DataLoader<string, CategoryRecord | null>;
}

/** Fresh loaders for one request: all `Product` lookups of a request become one query, all `Category` lookups another. */
export function createLoaders(repo: CatalogRepository, options: Partial<LoaderOptions> = {}): Loaders {
  return {
    productById: new DataLoader((ids) => repo.findProductsByIds(ids), { ...options }),
    categoryById: new DataLoader((ids) => repo.findCategoriesByIds(ids), { ...options }),
  };
}
