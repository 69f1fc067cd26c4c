/**
 * The search worker's handlers through the real consumer runner, BullMQ and Postgres: each event delivered twice
 * and out of order ends in the same read model as each delivered once, in order; the read model follows a product
 * from new to changed, restocked and sold out.
 */
import { randomUUID } from "node:crypto";
import { eventQueueName, type Message } from "@ecom/events";
import { deliver, makeMessage, twiceShuffled } from "@ecom/events/testing";
import { createTestDatabase, sql } from "@ecom/testing";
import { describe, expect, inject, it } from "vitest";
import { createSearchHandlers } from "../src/consumers/catalog.ts";
import { createDatabase } from "../src/datasources/prisma.ts";

const run = inject("testRun");
const CATEGORY = "00000000-0000-4000-8000-00000000c001";

const product = (id: string, name: string, priceAmount = 1500) => ({
  productId: id,
  sku: "TST-0001",
  name,
  description: `${name}, for tests`,
  priceAmount,
  currency: "USD",
  categoryId: CATEGORY,
});
const stock = (productId: string, available: number) => ({
  productId,
  onHand: available,
  reserved: 0,
  available,
  delta: available,
  reason: "restock" as const,
});

/** A product's life: created, renamed, repriced; restocked, sold out, restocked. And stock heard of before its product. */
function history() {
  const lamp = randomUUID();
  const early = randomUUID();
  return {
    lamp,
    early,
    messages: [
      makeMessage("product.created.v1", lamp, 1, product(lamp, "Brass lamp")),
      makeMessage("product.updated.v1", lamp, 2, { ...product(lamp, "Brass desk lamp"), changed: ["name"] }),
      makeMessage("product.updated.v1", lamp, 3, { ...product(lamp, "Brass desk lamp", 1800), changed: ["priceAmount"] }),
      makeMessage("stock.changed.v1", lamp, 1, stock(lamp, 5)),
      makeMessage("stock.changed.v1", lamp, 2, stock(lamp, 0)),
      makeMessage("stock.changed.v1", lamp, 3, stock(lamp, 3)),
      makeMessage("stock.changed.v1", early, 1, stock(early, 2)),
      makeMessage("product.created.v1", early, 1, product(early, "Walnut shelf")),
    ] as Message[],
  };
}

async function readModel(url: string) {
  return sql(
    url,
    `SELECT d.product_id::text, d.name, d.description, d.price_amount, d.currency, d.in_stock, d.product_version, s.version AS stock_version
     FROM search_documents d LEFT JOIN search_stock s USING (product_id) ORDER BY d.name`,
  );
}

async function apply(messages: readonly Message[], concurrency: number) {
  const db = await createTestDatabase(run, "search");
  const service = createDatabase(db.url);
  try {
    await deliver({
      queue: eventQueueName("search"),
      db: service.prisma,
      handlers: createSearchHandlers(),
      redisUrl: run.redisUrl,
      prefix: `${run.redisPrefix}search-${randomUUID().slice(0, 8)}`,
      messages,
      concurrency,
    });
    return { state: await readModel(db.url), inbox: await sql(db.url, "SELECT count(*)::int AS n FROM inbox"), db };
  } finally {
    await service.close();
  }
}

describe("search consumers", () => {
  it("end in the same read model with every event delivered twice and out of order as with each once, in order", async () => {
    const { messages, lamp, early } = history();
    const once = await apply(messages, 1);
    const twice = await apply(twiceShuffled(messages), 4);
    try {
      expect(once.state).toEqual([
        {
          product_id: lamp,
          name: "Brass desk lamp",
          description: "Brass desk lamp, for tests",
          price_amount: 1800,
          currency: "USD",
          in_stock: true,
          product_version: 3,
          stock_version: 3,
        },
        {
          product_id: early,
          name: "Walnut shelf",
          description: "Walnut shelf, for tests",
          price_amount: 1500,
          currency: "USD",
          in_stock: true,
          product_version: 1,
          stock_version: 1,
        },
      ]);
      expect(twice.state).toEqual(once.state);
      expect(twice.inbox).toEqual([{ n: messages.length }]);
    } finally {
      await once.db.drop();
      await twice.db.drop();
    }
  });

  it("shows a sold-out product as out of stock and a restocked one as in stock", async () => {
    const id = randomUUID();
    const soldOut = await apply(
      [
        makeMessage("product.created.v1", id, 1, product(id, "Oak stool")),
        makeMessage("stock.changed.v1", id, 1, stock(id, 4)),
        makeMessage("stock.changed.v1", id, 2, stock(id, 0)),
      ],
      1,
    );
    try {
      expect(soldOut.state).toMatchObject([{ product_id: id, in_stock: false, stock_version: 2 }]);
    } finally {
      await soldOut.db.drop();
    }
  });
});
