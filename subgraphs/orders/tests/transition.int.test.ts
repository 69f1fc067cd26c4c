import { createTestDatabase, sql } from "@ecom/testing";
import { describe, expect, inject, it } from "vitest";
import { isInvalidTransitionError } from "../src/domain/order-status.ts";
import { waitFor } from "./checkout-support.ts";
import { ALICE, arrangeOrder, startOrders, startProductsStub } from "./support.ts";

const run = inject("testRun");

const TIMELINE = `query($id: ID!) { order(id: $id) { status timeline { step status detail } } }`;

describe("order transitions (the checkout saga's entry point)", () => {
  it("confirms a PENDING order with a timeline entry, ignores a repeat and refuses to cancel it afterwards", async () => {
    await using db = await createTestDatabase(run, "orders");
    await using products = await startProductsStub([]);
    await using api = await startOrders(db.url, products.url);
    const id = await arrangeOrder(api.repo, ALICE.userId, new Date(Date.now() - 1000));

    expect(await api.repo.transition(id, { type: "CONFIRM", detail: "payment captured" })).toMatchObject({
      kind: "changed",
      to: "CONFIRMED",
    });
    expect(await api.repo.transition(id, { type: "CONFIRM" })).toEqual({ kind: "unchanged", status: "CONFIRMED" });
    const refused = await api.repo.transition(id, { type: "CANCEL", reason: "too late" }).catch((e: unknown) => e);
    expect(isInvalidTransitionError(refused)).toBe(true);
    expect(await api.repo.transition("00000000-0000-4000-8000-000000000999", { type: "CONFIRM" })).toBeNull();

    const res = await api.gql<{ order: { status: string; timeline: unknown[] } }>(TIMELINE, { id }, ALICE);
    expect(res.data!.order).toEqual({
      status: "CONFIRMED",
      timeline: [
        { step: "order", status: "PLACED", detail: null },
        { step: "order", status: "CONFIRMED", detail: "payment captured" },
      ],
    });
    // Each status change is announced in the transaction of its timeline entry; the repeat and the refusal are not.
    const announced = await sql(
      db.url,
      "SELECT type, aggregate_version, payload->>'detail' AS detail FROM outbox WHERE aggregate_id = $1 ORDER BY seq",
      [id],
    );
    expect(announced).toEqual([
      { type: "order.placed.v1", aggregate_version: 1, detail: null },
      { type: "order.confirmed.v1", aggregate_version: 2, detail: "payment captured" },
    ]);
  });

  it("cancels a PENDING order with the reason in its timeline", async () => {
    await using db = await createTestDatabase(run, "orders");
    await using products = await startProductsStub([]);
    await using api = await startOrders(db.url, products.url);
    const id = await arrangeOrder(api.repo, ALICE.userId, new Date(Date.now() - 1000));

    await api.repo.transition(id, { type: "CANCEL", reason: "payment declined" });

    const res = await api.gql<{ order: { status: string; timeline: Array<{ status: string; detail: string | null }> } }>(
      TIMELINE,
      { id },
      ALICE,
    );
    expect(res.data!.order.status).toBe("CANCELLED");
    expect(res.data!.order.timeline.at(-1)).toEqual({ step: "order", status: "CANCELLED", detail: "payment declined" });
    expect(await sql(db.url, "SELECT type, payload->>'reason' AS reason FROM outbox WHERE aggregate_id = $1 ORDER BY seq", [id])).toEqual([
      { type: "order.placed.v1", reason: null },
      { type: "order.cancelled.v1", reason: "payment declined" },
    ]);
  });

  it("fails a transition that waited for a concurrent one which changed the order, writing nothing", async () => {
    await using db = await createTestDatabase(run, "orders");
    await using products = await startProductsStub([]);
    await using api = await startOrders(db.url, products.url);
    const id = await arrangeOrder(api.repo, ALICE.userId, new Date(Date.now() - 1000));

    // Another transaction cancels the order and holds its row lock; the confirm starts while it does.
    const other = await api.db.pool.connect();
    try {
      await other.query("BEGIN");
      await other.query(`UPDATE orders SET status = 'CANCELLED' WHERE id = $1::uuid`, [id]);
      const confirm = api.repo.transition(id, { type: "CONFIRM" }).catch((e: unknown) => e);
      await waitFor(
        async () =>
          (
            await sql<{ n: number }>(
              db.url,
              "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
          )[0]!.n > 0,
        "the confirm to wait for the row lock",
        10_000,
      );
      await other.query("COMMIT");
      expect(String(await confirm)).toMatch(/changed status concurrently/);
    } finally {
      other.release();
    }
    expect(await sql(db.url, "SELECT status::text AS status FROM orders WHERE id = $1::uuid", [id])).toEqual([{ status: "CANCELLED" }]);
    expect(await sql(db.url, "SELECT status FROM order_events WHERE order_id = $1::uuid ORDER BY id", [id])).toEqual([
      { status: "PLACED" },
    ]);
    expect(await sql(db.url, "SELECT type FROM outbox WHERE aggregate_id = $1 ORDER BY seq", [id])).toEqual([{ type: "order.placed.v1" }]);
  });
});
