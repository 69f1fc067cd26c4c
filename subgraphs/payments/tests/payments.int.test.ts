import { randomUUID } from "node:crypto";
import { demoOrders } from "@ecom/demo-data";
import { createTestDatabase } from "@ecom/testing";
import { describe, expect, inject, it } from "vitest";
import { PaymentsRepository } from "../src/datasources/payments.ts";
import { createDatabase } from "../src/datasources/prisma.ts";
import { PaymentsService } from "../src/domain/payments-service.ts";
import { seed } from "../src/seed.ts";
import {
  ADMIN,
  ALICE,
  BOB,
  CHARGE,
  chargeInput,
  codesOf,
  PAYMENT_FIELDS,
  paymentStatements,
  REFUND,
  sql,
  startPayments,
  type PaymentView,
  type RunningPayments,
} from "./support.ts";

const run = inject("testRun");

type Charged = { chargePayment: PaymentView };
type Refunded = { refundPayment: PaymentView };

async function charge(api: RunningPayments, overrides: Parameters<typeof chargeInput>[0] = {}) {
  const res = await api.gql<Charged>(CHARGE, { input: chargeInput(overrides) }, ADMIN);
  expect(res.errors).toBeUndefined();
  return res.data!.chargePayment;
}

const countRows = async (url: string, table: "payments" | "payment_events") =>
  Number((await sql<{ n: string }>(url, `SELECT count(*)::text AS n FROM ${table}`))[0]!.n);

describe("charges", () => {
  it("captures a charge made with tok_visa and records it in the ledger", async () => {
    await using db = await createTestDatabase(run, "payments");
    await using api = await startPayments(db.url);

    const input = chargeInput({ amount: 12_345, currency: "EUR" });
    const res = await api.gql<Charged>(CHARGE, { input }, ADMIN);

    expect(res.errors).toBeUndefined();
    const payment = res.data!.chargePayment;
    expect(payment).toMatchObject({
      status: "CAPTURED",
      amount: { amount: 12_345, currency: "EUR" },
      declineCode: null,
      order: { id: input.orderId },
    });
    expect(new Date(payment.createdAt).toISOString()).toBe(payment.createdAt);
    const events = await sql(
      db.url,
      "SELECT payment_id::text, from_status::text, to_status::text, amount, currency, idempotency_key FROM payment_events",
    );
    expect(events).toEqual([
      {
        payment_id: payment.id,
        from_status: null,
        to_status: "CAPTURED",
        amount: 12_345,
        currency: "EUR",
        idempotency_key: input.idempotencyKey,
      },
    ]);
    const [row] = await sql<{ buyer_id: string }>(db.url, "SELECT buyer_id::text FROM payments WHERE id = $1", [payment.id]);
    expect(row!.buyer_id).toBe(ALICE.userId);
  });

  it("records a charge made with tok_chargeDeclined as a DECLINED payment, not as an error", async () => {
    await using db = await createTestDatabase(run, "payments");
    await using api = await startPayments(db.url);

    const res = await api.gql<Charged>(CHARGE, { input: chargeInput({ paymentToken: "tok_chargeDeclined" }) }, ADMIN);

    expect(res.errors).toBeUndefined();
    expect(res.data!.chargePayment).toMatchObject({ status: "DECLINED", declineCode: "card_declined" });
    expect(await sql(db.url, "SELECT to_status::text FROM payment_events")).toEqual([{ to_status: "DECLINED" }]);
  });

  it("refuses an unknown token with BAD_USER_INPUT and writes nothing", async () => {
    await using db = await createTestDatabase(run, "payments");
    await using api = await startPayments(db.url);

    const res = await api.gql<Charged>(CHARGE, { input: chargeInput({ paymentToken: "tok_mastercard_unknown" }) }, ADMIN);

    expect(codesOf(res)).toEqual(["BAD_USER_INPUT"]);
    expect(res.errors![0]!.extensions!.field).toBe("input.paymentToken");
    expect(await countRows(db.url, "payments")).toBe(0);
    expect(await countRows(db.url, "payment_events")).toBe(0);
  });

  it("refuses amounts outside 1..10000000, non-ISO currencies and malformed ids, naming the field", async () => {
    await using db = await createTestDatabase(run, "payments");
    await using api = await startPayments(db.url);

    const cases: Array<[Parameters<typeof chargeInput>[0], string]> = [
      [{ amount: 0 }, "input.amount"],
      [{ amount: 10_000_001 }, "input.amount"],
      [{ currency: "usd" }, "input.currency"],
      [{ currency: "ZZZ" }, "input.currency"],
      [{ orderId: "order-1" }, "input.orderId"],
      [{ buyerId: "not-a-uuid" }, "input.buyerId"],
      [{ idempotencyKey: "" }, "input.idempotencyKey"],
      [{ idempotencyKey: "k".repeat(256) }, "input.idempotencyKey"],
    ];
    for (const [overrides, field] of cases) {
      const res = await api.gql<Charged>(CHARGE, { input: chargeInput(overrides) }, ADMIN);
      expect(codesOf(res), JSON.stringify(overrides)).toEqual(["BAD_USER_INPUT"]);
      expect(res.errors![0]!.extensions!.field).toBe(field);
    }
    // The bounds themselves are accepted.
    expect((await charge(api, { amount: 1 })).amount.amount).toBe(1);
    expect((await charge(api, { amount: 10_000_000, currency: "JPY" })).amount).toEqual({ amount: 10_000_000, currency: "JPY" });
    expect(await countRows(db.url, "payments")).toBe(2);
  });
});

describe("charge idempotency", () => {
  it("returns the same payment for a retried charge with the same key and request", async () => {
    await using db = await createTestDatabase(run, "payments");
    await using api = await startPayments(db.url);

    const input = chargeInput();
    const first = await api.gql<Charged>(CHARGE, { input }, ADMIN);
    const again = await api.gql<Charged>(CHARGE, { input }, ADMIN);

    expect(again.data!.chargePayment).toEqual(first.data!.chargePayment);
    expect(await countRows(db.url, "payments")).toBe(1);
    expect(await countRows(db.url, "payment_events")).toBe(1);
  });

  it("makes exactly one payment out of 10 concurrent duplicate charges", async () => {
    await using db = await createTestDatabase(run, "payments");
    await using api = await startPayments(db.url);

    const input = chargeInput();
    const results = await Promise.all(Array.from({ length: 10 }, () => api.gql<Charged>(CHARGE, { input }, ADMIN)));

    expect(results.flatMap((r) => r.errors ?? [])).toEqual([]);
    expect(new Set(results.map((r) => r.data!.chargePayment.id)).size).toBe(1);
    expect(await countRows(db.url, "payments")).toBe(1);
    expect(await countRows(db.url, "payment_events")).toBe(1);
  });

  it("refuses a different request under a used key with BAD_USER_INPUT, concurrent or not", async () => {
    await using db = await createTestDatabase(run, "payments");
    await using api = await startPayments(db.url);

    const input = chargeInput();
    await charge(api, input);
    for (const changed of [
      { amount: input.amount + 1 },
      { currency: "EUR" },
      { paymentToken: "tok_chargeDeclined" },
      { orderId: randomUUID() },
      { buyerId: BOB.userId },
    ]) {
      const res = await api.gql<Charged>(CHARGE, { input: { ...input, ...changed } }, ADMIN);
      expect(codesOf(res), JSON.stringify(changed)).toEqual(["BAD_USER_INPUT"]);
      expect(res.errors![0]!.extensions!.field).toBe("input.idempotencyKey");
    }

    // Two different requests racing for one fresh key: one wins, the other is refused.
    const key = `race-${randomUUID()}`;
    const raced = await Promise.all(
      [1000, 2000].map((amount) => api.gql<Charged>(CHARGE, { input: chargeInput({ idempotencyKey: key, amount }) }, ADMIN)),
    );
    expect(raced.map((r) => (r.errors ? "refused" : "charged")).sort()).toEqual(["charged", "refused"]);
    expect(codesOf(raced.find((r) => r.errors)!)).toEqual(["BAD_USER_INPUT"]);
    expect(await countRows(db.url, "payments")).toBe(2);
  });
});

describe("refunds", () => {
  it("refunds a CAPTURED payment once: retries and concurrent refunds return it REFUNDED with one ledger row", async () => {
    await using db = await createTestDatabase(run, "payments");
    await using api = await startPayments(db.url);

    const payment = await charge(api);
    const refunds = await Promise.all(
      ["refund-a", "refund-a", "refund-b", "refund-c", "refund-a"].map((key) =>
        api.gql<Refunded>(REFUND, { paymentId: payment.id, key }, ADMIN),
      ),
    );
    expect(refunds.flatMap((r) => r.errors ?? [])).toEqual([]);
    expect(refunds.map((r) => r.data!.refundPayment.status)).toEqual(Array(5).fill("REFUNDED"));
    const later = await api.gql<Refunded>(REFUND, { paymentId: payment.id, key: "refund-a" }, ADMIN);
    expect(later.data!.refundPayment).toMatchObject({ id: payment.id, status: "REFUNDED", amount: payment.amount });

    const events = await sql(
      db.url,
      "SELECT from_status::text, to_status::text, amount FROM payment_events ORDER BY created_at, to_status",
    );
    expect(events).toEqual([
      { from_status: null, to_status: "CAPTURED", amount: payment.amount.amount },
      { from_status: "CAPTURED", to_status: "REFUNDED", amount: payment.amount.amount },
    ]);
  });

  it("refuses to refund a DECLINED payment, an unknown id is NOT_FOUND, a key that refunded another payment is BAD_USER_INPUT", async () => {
    await using db = await createTestDatabase(run, "payments");
    await using api = await startPayments(db.url);

    const declined = await charge(api, { paymentToken: "tok_chargeDeclined" });
    const declinedRefund = await api.gql<Refunded>(REFUND, { paymentId: declined.id, key: "r-1" }, ADMIN);
    expect(codesOf(declinedRefund)).toEqual(["BAD_USER_INPUT"]);
    expect(declinedRefund.errors![0]!.extensions!.field).toBe("paymentId");

    expect(codesOf(await api.gql(REFUND, { paymentId: randomUUID(), key: "r-2" }, ADMIN))).toEqual(["NOT_FOUND"]);
    expect(codesOf(await api.gql(REFUND, { paymentId: "not-a-uuid", key: "r-3" }, ADMIN))).toEqual(["NOT_FOUND"]);
    expect(codesOf(await api.gql(REFUND, { paymentId: declined.id, key: "" }, ADMIN))).toEqual(["BAD_USER_INPUT"]);

    const first = await charge(api);
    const second = await charge(api);
    expect((await api.gql<Refunded>(REFUND, { paymentId: first.id, key: "shared" }, ADMIN)).errors).toBeUndefined();
    const reused = await api.gql<Refunded>(REFUND, { paymentId: second.id, key: "shared" }, ADMIN);
    expect(codesOf(reused)).toEqual(["BAD_USER_INPUT"]);
    expect(reused.errors![0]!.extensions!.field).toBe("idempotencyKey");

    // Only the one successful refund changed anything.
    const statuses = await sql<{ id: string; status: string }>(db.url, "SELECT id::text, status::text FROM payments");
    expect(Object.fromEntries(statuses.map((s) => [s.id, s.status]))).toEqual({
      [declined.id]: "DECLINED",
      [first.id]: "REFUNDED",
      [second.id]: "CAPTURED",
    });
    expect(await countRows(db.url, "payment_events")).toBe(4);
  });

  it("keeps the ledger append-only: UPDATE, DELETE and TRUNCATE are refused by the database", async () => {
    await using db = await createTestDatabase(run, "payments");
    await using api = await startPayments(db.url);

    await charge(api);
    await expect(sql(db.url, "UPDATE payment_events SET amount = 1")).rejects.toThrow(/append-only/);
    await expect(sql(db.url, "DELETE FROM payment_events")).rejects.toThrow(/append-only/);
    await expect(sql(db.url, "TRUNCATE payment_events")).rejects.toThrow(/append-only/);
    expect(await countRows(db.url, "payment_events")).toBe(1);
  });
});

describe("authorization", () => {
  const PAYMENT = `query($id: ID!) { payment(id: $id) { ${PAYMENT_FIELDS} } }`;
  const ORDER_PAYMENT = `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Order { id payment { id status } } } }`;

  it("shows a payment and an order's payment to the buyer and to ADMINs only (null for anyone else)", async () => {
    await using db = await createTestDatabase(run, "payments");
    await using api = await startPayments(db.url);

    const payment = await charge(api, { buyerId: ALICE.userId });
    const orderRep = [{ __typename: "Order", id: payment.order.id }];
    for (const [who, identity, visible] of [
      ["buyer", ALICE, true],
      ["admin", ADMIN, true],
      ["another customer", BOB, false],
      ["anonymous", null, false],
    ] as const) {
      const byId = await api.gql<{ payment: PaymentView | null }>(PAYMENT, { id: payment.id }, identity);
      expect(byId.errors, who).toBeUndefined();
      expect(byId.data!.payment?.id ?? null, who).toBe(visible ? payment.id : null);

      const viaOrder = await api.gql<{ _entities: Array<{ id: string; payment: { id: string } | null }> }>(
        ORDER_PAYMENT,
        { reps: orderRep },
        identity,
      );
      expect(viaOrder.errors, who).toBeUndefined();
      expect(viaOrder.data!._entities, who).toEqual([
        { id: payment.order.id, payment: visible ? { id: payment.id, status: "CAPTURED" } : null },
      ]);
    }
    // Unknown and malformed ids are simply absent.
    expect((await api.gql(PAYMENT, { id: randomUUID() }, ADMIN)).data).toEqual({ payment: null });
    expect((await api.gql(PAYMENT, { id: "42" }, ADMIN)).data).toEqual({ payment: null });
  });

  it("lets only ADMINs charge and refund: FORBIDDEN for a CUSTOMER, UNAUTHENTICATED when anonymous, nothing written", async () => {
    await using db = await createTestDatabase(run, "payments");
    await using api = await startPayments(db.url);

    const payment = await charge(api);
    expect(codesOf(await api.gql(CHARGE, { input: chargeInput() }, ALICE))).toEqual(["FORBIDDEN"]);
    expect(codesOf(await api.gql(CHARGE, { input: chargeInput() }, null))).toEqual(["UNAUTHENTICATED"]);
    expect(codesOf(await api.gql(REFUND, { paymentId: payment.id, key: "k" }, ALICE))).toEqual(["FORBIDDEN"]);
    expect(codesOf(await api.gql(REFUND, { paymentId: payment.id, key: "k" }, null))).toEqual(["UNAUTHENTICATED"]);
    expect(await countRows(db.url, "payments")).toBe(1);
    expect(await countRows(db.url, "payment_events")).toBe(1);
  });
});

describe("federation entities", () => {
  it("resolves Order.payment to each order's latest payment, for N orders in one statement", async () => {
    await using db = await createTestDatabase(run, "payments");
    await using api = await startPayments(db.url);

    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    await charge(api, { orderId: a, paymentToken: "tok_chargeDeclined" });
    const aLatest = await charge(api, { orderId: a });
    const bOnly = await charge(api, { orderId: b, buyerId: BOB.userId });
    const reps = [a, b, c, "not-a-uuid", a].map((id) => ({ __typename: "Order", id }));

    api.resetStatements();
    const res = await api.gql<{ _entities: Array<{ id: string; payment: { id: string; status: string } | null }> }>(
      `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Order { id payment { id status amount { amount currency } } } } }`,
      { reps },
      ADMIN,
    );

    expect(res.errors).toBeUndefined();
    expect(res.data!._entities.map((e) => e.payment?.id ?? null)).toEqual([aLatest.id, bOnly.id, null, null, aLatest.id]);
    expect(paymentStatements(api.statements)).toHaveLength(1);
    expect(paymentStatements(api.statements)[0]).toMatch(/DISTINCT ON \(order_id\)/);
  });

  it("resolves Payment references for N payments in one statement, hiding other buyers' payments", async () => {
    await using db = await createTestDatabase(run, "payments");
    await using api = await startPayments(db.url);

    const mine = [await charge(api), await charge(api), await charge(api, { paymentToken: "tok_chargeDeclined" })];
    const bobs = await charge(api, { buyerId: BOB.userId });
    const reps = [...mine, bobs].map((p) => ({ __typename: "Payment", id: p.id })).concat([{ __typename: "Payment", id: randomUUID() }]);
    const query = `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Payment { id status } } }`;

    api.resetStatements();
    const asAlice = await api.gql<{ _entities: Array<{ id: string } | null> }>(query, { reps }, ALICE);
    expect(asAlice.errors).toBeUndefined();
    expect(asAlice.data!._entities.map((e) => e?.id ?? null)).toEqual([...mine.map((p) => p.id), null, null]);
    expect(paymentStatements(api.statements)).toHaveLength(1);

    api.resetStatements();
    const asAdmin = await api.gql<{ _entities: Array<{ id: string } | null> }>(query, { reps }, ADMIN);
    expect(asAdmin.data!._entities.map((e) => e?.id ?? null)).toEqual([...mine.map((p) => p.id), bobs.id, null]);
    expect(paymentStatements(api.statements)).toHaveLength(1);
  });
});

describe("payments service (used by the checkout saga)", () => {
  it("answers a charge that loses the insert race with the winner's payment, and refuses a different loser", async () => {
    await using db = await createTestDatabase(run, "payments");
    const database = createDatabase(db.url);
    try {
      const repo = new PaymentsRepository(database.prisma);
      // A repository whose idempotency lookup misses once, as when a concurrent duplicate has not committed yet:
      // the service must then rely on the unique constraint alone.
      class RacingRepository extends PaymentsRepository {
        private blind = true;
        override findByIdempotencyKey(key: string) {
          if (this.blind) {
            this.blind = false;
            return Promise.resolve(null);
          }
          return super.findByIdempotencyKey(key);
        }
      }
      const input = chargeInput();
      const winner = await new PaymentsService(repo).charge(input);

      const loser = await new PaymentsService(new RacingRepository(database.prisma)).charge(input);
      expect(loser).toEqual(winner);

      const different = new PaymentsService(new RacingRepository(database.prisma)).charge({ ...input, amount: input.amount + 1 });
      await expect(different).rejects.toMatchObject({ extensions: { code: "BAD_USER_INPUT", field: "idempotencyKey" } });
      expect(await countRows(db.url, "payments")).toBe(1);
      expect(await countRows(db.url, "payment_events")).toBe(1);
    } finally {
      await database.close();
    }
  });
});

describe("seed", () => {
  it("seeds one CAPTURED payment per CONFIRMED demo order, visible on the order to its buyer, and is idempotent", async () => {
    await using db = await createTestDatabase(run, "payments");
    const confirmed = demoOrders.filter((o) => o.status === "CONFIRMED");

    expect(await seed(db.url)).toEqual({ payments: confirmed.length });
    expect(await seed(db.url)).toEqual({ payments: confirmed.length });

    const rows = await sql<{ order_id: string; buyer_id: string; amount: number; currency: string; status: string; created_at: Date }>(
      db.url,
      "SELECT order_id::text, buyer_id::text, amount, currency, status::text, created_at FROM payments ORDER BY created_at",
    );
    const expected = [...confirmed]
      .sort((a, b) => a.capturedAt.localeCompare(b.capturedAt))
      .map((o) => ({
        order_id: o.id,
        buyer_id: o.buyerId,
        amount: o.totalAmount,
        currency: o.currency,
        status: "CAPTURED",
        created_at: new Date(o.capturedAt),
      }));
    expect(rows).toEqual(expected);
    expect(await countRows(db.url, "payment_events")).toBe(confirmed.length);

    await using api = await startPayments(db.url);
    const order = confirmed[0]!;
    const buyer = { userId: order.buyerId, role: "CUSTOMER" as const };
    const res = await api.gql<{ _entities: Array<{ payment: { status: string; amount: { amount: number } } | null }> }>(
      `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Order { payment { status amount { amount } } } } }`,
      { reps: [{ __typename: "Order", id: order.id }] },
      buyer,
    );
    expect(res.data!._entities).toEqual([{ payment: { status: "CAPTURED", amount: { amount: order.totalAmount } } }]);
  });
});
