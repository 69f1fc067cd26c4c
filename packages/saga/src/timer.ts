/**
 * Deadlines as BullMQ jobs: a job scheduler (BullMQ's `upsertJobScheduler`, one per saga queue however many
 * processes upsert it) adds a `sweep` job every `intervalMs`; whichever worker takes it acts on every passed
 * deadline of the saga (a stuck step cancels it, an unanswered compensation is sent again) and refreshes the
 * gauges. Deadlines live in the saga rows, not in delayed jobs, so a lost job or a crashed worker loses nothing:
 * the next sweep finds them.
 */
import { Queue, Worker, type RedisOptions } from "bullmq";
import type { MessageType, SqlTransaction, TransactionalDatabase } from "@ecom/events";
import type { Logger } from "@ecom/observability";
import type { Orchestrator } from "./orchestrator.ts";

/** Options of {@link createSagaTimer}. */
export interface SagaTimerOptions<Tx extends SqlTransaction> {
  orchestrators: ReadonlyArray<Pick<Orchestrator<unknown, Tx, MessageType>, "sweep" | "refreshGauges"> & { definition: { name: string } }>;
  db: TransactionalDatabase<Tx>;
  connection: RedisOptions;
  prefix: string;
  logger: Logger;
  /** How often deadlines are checked. @default 1000 */
  intervalMs?: number;
  /** An unfinished saga this long past its deadline counts as stuck (`saga_stuck`). @default 60000 */
  stuckAfterMs?: number;
}

/** A running timer. */
export interface SagaTimer {
  readonly queue: Queue;
  start(): Promise<void>;
  /** Sweeps once now (tests, operators). */
  sweepOnce(): Promise<number>;
  close(): Promise<void>;
}

/** The BullMQ queue of a saga's timer jobs. */
export const sagaQueueName = (saga: string) => `saga.${saga}`;

/** A timer over the orchestrators' sagas (one queue per saga name of the first orchestrator). */
export function createSagaTimer<Tx extends SqlTransaction>(options: SagaTimerOptions<Tx>): SagaTimer {
  const { logger, db } = options;
  const name = sagaQueueName(options.orchestrators.map((o) => o.definition.name).join("+"));
  const connection = { ...options.connection, maxRetriesPerRequest: null };
  const queue = new Queue(name, { connection, prefix: options.prefix });
  queue.on("error", (err) => logger.warn({ err, queue: name }, "saga timer queue error"));
  const stuckAfterMs = options.stuckAfterMs ?? 60_000;
  let worker: Worker | undefined;

  async function sweepOnce(): Promise<number> {
    let acted = 0;
    for (const orchestrator of options.orchestrators) {
      acted += await orchestrator.sweep(db);
      await orchestrator.refreshGauges(db, stuckAfterMs);
    }
    return acted;
  }

  return {
    queue,
    sweepOnce,
    async start() {
      await queue.upsertJobScheduler(
        "sweep",
        { every: options.intervalMs ?? 1000 },
        { name: "sweep", opts: { removeOnComplete: true, removeOnFail: 100, attempts: 1 } },
      );
      worker = new Worker(name, async () => ({ acted: await sweepOnce() }), { connection, prefix: options.prefix, concurrency: 1 });
      worker.on("error", (err) => logger.warn({ err, queue: name }, "saga timer worker error"));
      worker.on("failed", (_job, err) => logger.warn({ err, queue: name }, "saga sweep failed; the next one retries"));
      await worker.waitUntilReady();
    },
    async close() {
      await worker?.close();
      await queue.close();
    },
  };
}
