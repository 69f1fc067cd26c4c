/**
 * The orchestrator over a real database (an orders test database: its `sagas` and `outbox` tables), with a toy
 * two-step saga: a new saga is a new list. Each transition commits the state and its command together; a
 * second orchestrator (another process after a crash) resumes from the row; deadlines cancel and compensations
 * are sent again until answered.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parsePgUrl } from "@ecom/db";
import { pgDatabase, type PgTransaction } from "@ecom/events";
import { createLogger, createMetrics } from "@ecom/observability";
import { createTestDatabase, type TestDatabase } from "@ecom/testing";
import { createOrchestrator, defineSaga, readSaga, type SagaRecord } from "../src/index.ts";

const run = inject("testRun");

describe("saga orchestrator (real Postgres)", () => {
  let testDb: TestDatabase;
  let pool: pg.Pool;
  beforeAll(async () => {
    testDb = await createTestDatabase(run, "orders");
    pool = new pg.Pool({ ...parsePgUrl(testDb.url), max: 4 });
  });
  afterAll(async () => {
    await pool?.end();
    await testDb?.drop();
  });

  const records: Array<SagaRecord & { id: string }> = [];
  const ended: string[] = [];
  let clock = Date.parse("2026-12-01T10:00:00.000Z");
  const toy = defineSaga<{ who: string }, PgTransaction, "payment.captured.v1">({
    name: "toy",
    stepTimeoutMs: 1000,
    compensationTimeoutMs: 100,
    steps: [
      {
        name: "first",
        invoke: ({ send, sagaId }) => send("notification.deliver.v1", sagaId, { notificationId: sagaId }),
        compensate: ({ send, sagaId, attempt }) =>
          send("notification.deliver.v1", sagaId, { notificationId: sagaId }).then(() => void attempt),
      },
      { name: "second", invoke: ({ send, sagaId }) => send("notification.deliver.v1", sagaId, { notificationId: sagaId }) },
    ],
    replies: { "payment.captured.v1": () => null },
    record: async (_tx, id, _input, entry) => void records.push({ id, ...entry }),
    onCompleted: async (_tx, id) => void ended.push(`${id} completed`),
    onCompensated: async (_tx, id, _input, reason) => void ended.push(`${id} compensated: ${reason}`),
  });
  const orchestrator = () =>
    createOrchestrator(toy, {
      producer: "orders",
      logger: createLogger({ service: "saga-test", level: "silent" }),
      registry: createMetrics({ service: "saga-test", defaultMetrics: false }).registry,
      now: () => clock,
    });
  const commands = async (id: string) =>
    (await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM outbox WHERE aggregate_id = $1", [id])).rows[0]!.n;

  it("refuses a definition with repeated step names", () => {
    expect(() => defineSaga({ ...toy, steps: [toy.steps[0]!, toy.steps[0]!] })).toThrow("repeats step names: first");
  });

  it("commits each transition with its command, and another orchestrator resumes from the row", async () => {
    const db = pgDatabase(pool);
    const id = randomUUID();
    expect(await db.$transaction((tx) => orchestrator().start(tx, id, { who: "x" }))).toBe(true);
    expect(await db.$transaction((tx) => orchestrator().start(tx, id, { who: "x" }))).toBe(false);
    expect(await commands(id)).toBe(1);
    // A transition that fails after its writes rolls back whole: no state change, no command.
    await expect(
      db.$transaction(async (tx) => {
        await orchestrator().handleReply(tx, { sagaId: id, step: "first", phase: "invoke", ok: true, status: "DONE" });
        throw new Error("crash before commit");
      }),
    ).rejects.toThrow("crash before commit");
    expect((await db.$transaction((tx) => readSaga(tx, id)))!.steps[0]!.status).toBe("RUNNING");
    expect(await commands(id)).toBe(1);
    // (This test's record hook keeps entries in memory, so the rolled-back one is forgotten by hand; a service
    // writes them in the transaction.)
    records.splice(0, records.length);
    // A fresh orchestrator (a restarted worker) picks it up from the row.
    expect(
      await db.$transaction((tx) =>
        orchestrator().handleReply(tx, { sagaId: id, step: "first", phase: "invoke", ok: true, status: "DONE" }),
      ),
    ).toBe("applied");
    expect(
      await db.$transaction((tx) =>
        orchestrator().handleReply(tx, { sagaId: id, step: "first", phase: "invoke", ok: true, status: "DONE" }),
      ),
    ).toBe("ignored");
    expect(await commands(id)).toBe(2);
    expect(
      await db.$transaction((tx) =>
        orchestrator().handleReply(tx, { sagaId: id, step: "second", phase: "invoke", ok: true, status: "DONE" }),
      ),
    ).toBe("applied");
    const saga = (await db.$transaction((tx) => readSaga(tx, id)))!;
    expect(saga.status).toBe("COMPLETED");
    expect(saga.finishedAt).not.toBeNull();
    expect(ended).toContain(`${id} completed`);
    expect(records.filter((r) => r.id === id).map((r) => `${r.step} ${r.status}`)).toEqual(["first DONE", "second DONE"]);
    expect(
      await db.$transaction((tx) =>
        orchestrator().handleReply(tx, { sagaId: randomUUID(), step: "first", phase: "invoke", ok: true, status: "DONE" }),
      ),
    ).toBe("unknown-saga");
  });

  it("cancels at a step's deadline and sends the compensation again until it is answered", async () => {
    const db = pgDatabase(pool);
    const id = randomUUID();
    await db.$transaction((tx) => orchestrator().start(tx, id, { who: "y" }));
    await db.$transaction((tx) => orchestrator().handleReply(tx, { sagaId: id, step: "first", phase: "invoke", ok: true, status: "DONE" }));
    expect(await orchestrator().sweep(db)).toBe(0);
    clock += 1500;
    // "second" is stuck: cancelled; it has no compensation, so "first" is compensated.
    expect(await orchestrator().sweep(db)).toBeGreaterThanOrEqual(1);
    let saga = (await db.$transaction((tx) => readSaga(tx, id)))!;
    expect(saga).toMatchObject({ status: "COMPENSATING", current: 0, reason: "step second timed out (no answer within 1 s)" });
    const sent = await commands(id);
    clock += 150;
    await orchestrator().sweep(db);
    saga = (await db.$transaction((tx) => readSaga(tx, id)))!;
    expect(saga.steps[0]).toMatchObject({ status: "COMPENSATING", attempts: 2 });
    expect(await commands(id)).toBe(sent + 1);
    await db.$transaction((tx) =>
      orchestrator().handleReply(tx, { sagaId: id, step: "first", phase: "compensate", ok: true, status: "UNDONE" }),
    );
    saga = (await db.$transaction((tx) => readSaga(tx, id)))!;
    expect(saga.status).toBe("COMPENSATED");
    expect(saga.log.map((l) => `${l.attempt} ${l.outcome}`)).toEqual(["1 sent", "1 timed-out", "2 sent", "2 succeeded"]);
    expect(ended).toContain(`${id} compensated: step second timed out (no answer within 1 s)`);
  });

  it("counts unfinished sagas long past their deadline as stuck, and retried compensations as failing", async () => {
    const db = pgDatabase(pool);
    const registry = createMetrics({ service: "saga-test", defaultMetrics: false }).registry;
    const watched = createOrchestrator(toy, {
      producer: "orders",
      logger: createLogger({ service: "saga-test", level: "silent" }),
      registry,
      now: () => clock,
    });
    const id = randomUUID();
    await db.$transaction((tx) => watched.start(tx, id, { who: "z" }));
    // The test clock is hours behind the database's: this saga's deadline passed long ago, and nothing swept it.
    await watched.refreshGauges(db, 60_000);
    const value = async (name: string) =>
      (await registry.getSingleMetric(name)!.get()).values.find((v) => v.labels["saga"] === "toy")?.value;
    expect(await value("saga_stuck")).toBe(1);
    expect(await value("saga_failing")).toBe(0);
    clock += 1500;
    await watched.sweep(db);
    clock += 150;
    await watched.sweep(db);
    await watched.refreshGauges(db, 60_000);
    expect(await value("saga_failing")).toBe(1);
  });
});
