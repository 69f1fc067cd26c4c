/**
 * The orchestrator: runs a {@link SagaDefinition} over the persisted state (store.ts) with the pure state machine
 * (state.ts). Every transition is one transaction of the owner's database: lock the saga row, compute, save, send
 * the next command through the outbox, write the timeline. So a crash anywhere leaves either the old state with
 * its command still to come, or the new state with its command in the outbox: the saga resumes from its row.
 *
 * What moves a saga: its start (in the transaction that creates what it is about, e.g. the order), participants'
 * reply events (consumed with the inbox's exactly-once effect, see `handlers()`), and deadlines, checked by a BullMQ
 * job scheduler (timer.ts) that calls `sweep()`.
 */
import {
  createOutbox,
  type Message,
  type MessageHandlers,
  type MessageType,
  type SqlTransaction,
  type TransactionalDatabase,
} from "@ecom/events";
import type { Logger } from "@ecom/observability";
import type { Registry } from "prom-client";
import type { Json, SagaDefinition, SagaReply, StepContext } from "./definition.ts";
import { sagaMetrics, type SagaMetrics } from "./metrics.ts";
import { applyDeadline, applyReply, backoff, startSaga, type Effect, type SagaState, type Timing, type Transition } from "./state.ts";
import { dueSagas, insertSaga, lockSaga, sagaCounts, saveSaga, type StoredSaga } from "./store.ts";

/** Options of {@link createOrchestrator}. */
export interface OrchestratorOptions {
  /** The owning service (the outbox producer), e.g. `orders`. */
  producer: string;
  logger: Logger;
  registry: Registry;
  /** The clock (tests). @default Date.now */
  now?: () => number;
}

/** What a reply did. */
export type ReplyOutcome = "applied" | "ignored" | "unknown-saga";

/** Runs one saga definition. */
export interface Orchestrator<Input, Tx extends SqlTransaction, Replies extends MessageType> {
  readonly definition: SagaDefinition<Input, Tx, Replies>;
  /**
   * Starts saga `id` in `tx` (the transaction that creates what the saga is about) and sends its first command.
   * Resolves false when it exists already (nothing written).
   */
  start(tx: Tx, id: string, input: Input): Promise<boolean>;
  /** Applies a reply in `tx`. */
  handleReply(tx: Tx, reply: SagaReply): Promise<ReplyOutcome>;
  /** Consumer handlers of the reply events (for `runtime.consume(eventQueueName(owner), db, handlers)`). */
  handlers(): MessageHandlers<Replies, Tx>;
  /** Acts on every passed deadline (one transaction per saga; sagas another process holds are skipped). */
  sweep(db: TransactionalDatabase<Tx>, options?: { limit?: number }): Promise<number>;
  /** Reads unfinished, stuck and retrying sagas into the gauges. */
  refreshGauges(db: TransactionalDatabase<Tx>, stuckAfterMs: number): Promise<void>;
}

/** An orchestrator for `definition`. */
export function createOrchestrator<Input, Tx extends SqlTransaction, Replies extends MessageType>(
  definition: SagaDefinition<Input, Tx, Replies>,
  options: OrchestratorOptions,
): Orchestrator<Input, Tx, Replies> {
  const { logger } = options;
  const now = options.now ?? Date.now;
  const outbox = createOutbox({ producer: options.producer });
  const metrics: SagaMetrics = sagaMetrics(options.registry);
  const saga = definition.name;
  const stepTimeout = definition.stepTimeoutMs ?? 30_000;
  const delay = backoff(definition.compensationTimeoutMs ?? 5000, definition.maxRetryDelayMs ?? 60_000);
  const timing = (at: number): Timing => ({
    now: at,
    stepTimeoutMs: (i) => definition.steps[i]?.timeoutMs ?? stepTimeout,
    compensationDelayMs: delay,
    compensable: (i) => definition.steps[i]?.compensate !== undefined,
  });
  const label = (index: number | null) =>
    index === null ? "saga" : (definition.steps[index]?.label ?? definition.steps[index]?.name ?? "saga");

  const resultsOf = (state: SagaState) =>
    Object.fromEntries(state.steps.filter((s) => s.result !== undefined).map((s) => [s.name, s.result])) as Record<
      string,
      Json | undefined
    >;

  async function carryOut(tx: Tx, transition: Extract<Transition, { outcome: "applied" }>, input: Input, createdAt: number, at: number) {
    const { state } = transition;
    const results = resultsOf(state);
    const context = (effect: { attempt: number }): StepContext<Input, Tx> => ({
      tx,
      sagaId: state.id,
      input,
      results,
      attempt: effect.attempt,
      reason: state.reason,
      send: async (type, aggregateId, payload) => {
        await outbox.write(tx, { type, aggregateId, payload });
      },
    });
    for (const effect of transition.effects as Effect[]) {
      switch (effect.kind) {
        case "invoke":
          await definition.steps[effect.step]!.invoke(context(effect));
          break;
        case "compensate":
          if (effect.attempt > 1) metrics.compensationRetries.inc({ saga, step: definition.steps[effect.step]!.name });
          await definition.steps[effect.step]!.compensate!(context(effect));
          break;
        case "record": {
          await definition.record?.(tx, state.id, input, { step: label(effect.step), status: effect.status, detail: effect.detail });
          if (effect.step !== null) {
            const step = state.steps[effect.step]!;
            const outcome = { SUCCEEDED: "succeeded", FAILED: "failed", TIMED_OUT: "timed_out", COMPENSATED: "compensated" }[
              step.status as string
            ];
            if (outcome) metrics.steps.inc({ saga, step: step.name, outcome });
          }
          break;
        }
        case "completed":
          await definition.onCompleted(tx, state.id, input, results);
          metrics.finished.inc({ saga, outcome: "completed" });
          metrics.duration.observe({ saga, outcome: "completed" }, Math.max(0, (at - createdAt) / 1000));
          break;
        case "compensated":
          await definition.onCompensated(tx, state.id, input, effect.reason);
          metrics.finished.inc({ saga, outcome: "compensated" });
          metrics.duration.observe({ saga, outcome: "compensated" }, Math.max(0, (at - createdAt) / 1000));
          break;
        default: {
          const never: never = effect;
          throw new Error(`unknown saga effect ${JSON.stringify(never)}`);
        }
      }
    }
  }

  async function handleReply(tx: Tx, reply: SagaReply): Promise<ReplyOutcome> {
    const stored = await lockSaga<Input>(tx, reply.sagaId);
    if (!stored || stored.name !== saga) return "unknown-saga";
    const at = now();
    const transition = applyReply(stored, reply, timing(at));
    if (transition.outcome === "ignored") {
      logger.debug({ sagaId: reply.sagaId, step: reply.step, why: transition.why }, "saga reply ignored");
      return "ignored";
    }
    await saveSaga(tx, transition.state, at);
    await carryOut(tx, transition, stored.input, stored.createdAt, at);
    return "applied";
  }

  return {
    definition,
    async start(tx, id, input) {
      const at = now();
      const transition = startSaga(
        id,
        saga,
        definition.steps.map((s) => s.name),
        timing(at),
      );
      if (!(await insertSaga(tx, transition.state, input, at))) return false;
      await carryOut(tx, transition as Extract<Transition, { outcome: "applied" }>, input, at, at);
      metrics.started.inc({ saga });
      return true;
    },
    handleReply,
    handlers() {
      const entries = (Object.keys(definition.replies) as Replies[]).map((type) => {
        const map = definition.replies[type] as (message: Message) => SagaReply | null;
        const handler = async (message: Message, tx: Tx, ctx: { logger: Logger }) => {
          const reply = map(message);
          if (!reply) return;
          const outcome = await handleReply(tx, reply);
          ctx.logger.debug({ sagaId: reply.sagaId, step: reply.step, phase: reply.phase, outcome }, "saga reply");
        };
        return [type, handler] as const;
      });
      return Object.fromEntries(entries) as unknown as MessageHandlers<Replies, Tx>;
    },
    async sweep(db, sweepOptions = {}) {
      const at = now();
      const ids = await db.$transaction((tx) => dueSagas(tx, saga, at, sweepOptions.limit ?? 200));
      let acted = 0;
      for (const id of ids) {
        try {
          const applied = await db.$transaction(async (tx) => {
            const stored: StoredSaga<Input> | null = await lockSaga<Input>(tx, id, { skipLocked: true });
            if (!stored) return false;
            const when = now();
            const transition = applyDeadline(stored, timing(when));
            if (transition.outcome === "ignored") return false;
            await saveSaga(tx, transition.state, when);
            await carryOut(tx, transition, stored.input, stored.createdAt, when);
            logger.info({ sagaId: id, saga, status: transition.state.status, reason: transition.state.reason }, "saga deadline acted on");
            return true;
          });
          if (applied) acted += 1;
        } catch (err) {
          // The next sweep tries again: the state did not change.
          logger.warn({ err, sagaId: id }, "saga deadline not handled; retrying at the next sweep");
        }
      }
      return acted;
    },
    async refreshGauges(db, stuckAfterMs) {
      const counts = await db.$transaction((tx) => sagaCounts(tx, stuckAfterMs, { unfinishedOnly: true }));
      const mine = counts.filter((c) => c.name === saga);
      for (const status of ["RUNNING", "COMPENSATING"]) {
        metrics.active.set({ saga, status }, mine.find((c) => c.status === status)?.count ?? 0);
      }
      metrics.stuck.set(
        { saga },
        mine.reduce((n, c) => n + c.stuck, 0),
      );
      metrics.failing.set(
        { saga },
        mine.reduce((n, c) => n + c.retrying, 0),
      );
    },
  };
}
