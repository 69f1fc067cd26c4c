/**
 * The inventory worker's handler through the real consumer runner, BullMQ and Postgres: a product the catalog
 * announces gets an (empty) stock item, once, however often and however late the announcement arrives.
 */
import { randomUUID } from "node:crypto";
import { eventQueueName, type Message } from "@ecom/events";
import { deliver, makeMessage, twiceShuffled } from "@ecom/events/testing";
import { createTestDatabase, sql } from "@ecom/testing";
import { describe, expect, inject, it } from "vitest";
import { createInventoryHandlers } from "../src/consumers/catalog.ts";
import { createDatabase } from "../src/datasources/prisma.ts";

const run = inject("testRun");

const created = (id: string) =>
  makeMessage("product.created.v1", id, 1, {
    productId: id,
    sku: "TST-0002",
    name: "Test product",
    description: "",
    priceAmount: 100,
    currency: "USD",
    categoryId: "00000000-0000-4000-8000-00000000c001",
  });

async function withInventory<T>(fn: (url: string, apply: (messages: Message[], concurrency?: number) => Promise<void>) => Promise<T>) {
  await using db = await createTestDatabase(run, "inventory");
  const service = createDatabase(db.url);
  try {
    return await fn(db.url, (messages, concurrency = 4) =>
      deliver({
        queue: eventQueueName("inventory"),
        db: service.prisma,
        handlers: createInventoryHandlers(),
        redisUrl: run.redisUrl,
        prefix: `${run.redisPrefix}inv-${randomUUID().slice(0, 8)}`,
        messages,
        concurrency,
      }),
    );
  } finally {
    await service.close();
  }
}

const items = (url: string) => sql(url, "SELECT product_id::text, on_hand, reserved, version FROM stock_items ORDER BY product_id");

describe("inventory consumers", () => {
  it("end in the same stock items with every event delivered twice and out of order as with each once", async () => {
    const messages = Array.from({ length: 6 }, () => created(randomUUID()));
    const once = await withInventory(async (url, apply) => {
      await apply(messages, 1);
      return items(url);
    });
    const twice = await withInventory(async (url, apply) => {
      await apply(twiceShuffled(messages));
      return items(url);
    });
    expect(once).toHaveLength(6);
    expect(once.every((i) => i["on_hand"] === 0 && i["reserved"] === 0)).toBe(true);
    expect(twice).toEqual(once);
  });

  it("never touches the stock of a product it knows already (a late or replayed announcement)", async () => {
    const id = randomUUID();
    await withInventory(async (url, apply) => {
      await apply([created(id)]);
      await sql(url, "UPDATE stock_items SET on_hand = 9, version = 3 WHERE product_id = $1", [id]);
      await apply([{ ...created(id) }]);
      expect(await items(url)).toEqual([{ product_id: id, on_hand: 9, reserved: 0, version: 3 }]);
    });
  });
});
