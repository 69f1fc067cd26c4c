import { z } from "@ecom/config";
import { EntityClientError, type createEntityClient } from "@ecom/service";
import type { ProductPrice } from "../domain/place-order.ts";

const productPrice = z.object({
  id: z.string(),
  price: z.object({ amount: z.number().int().nonnegative(), currency: z.string().regex(/^[A-Z]{3}$/) }),
});

/**
 * The products subgraph, asked through its `_entities` field (never its database) for current prices.
 */
export class ProductCatalog {
  constructor(
    private readonly fetchEntities: ReturnType<typeof createEntityClient>,
    private readonly url: string,
  ) {}

  /**
   * Current prices of `ids`, aligned with them (null for an unknown product), in one call for the whole list.
   * @throws EntityClientError when the products subgraph is unreachable, fails, or answers something unexpected.
   */
  async pricesOf(ids: readonly string[]): Promise<Array<ProductPrice | null>> {
    const entities = await this.fetchEntities<unknown>("Product", ids, "id price { amount currency }");
    if (entities.length !== ids.length) {
      throw new EntityClientError(`Product lookup answered ${entities.length} entities for ${ids.length} ids`, this.url);
    }
    return entities.map((entity, index) => {
      if (entity === null) return null;
      const parsed = productPrice.safeParse(entity);
      if (!parsed.success || parsed.data.id.toLowerCase() !== ids[index]!.toLowerCase()) {
        throw new EntityClientError(`Product lookup answered an unexpected entity for ${ids[index]}`, this.url);
      }
      return { id: ids[index]!, amount: parsed.data.price.amount, currency: parsed.data.price.currency };
    });
  }
}
