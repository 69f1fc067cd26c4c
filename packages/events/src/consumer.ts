/**
 * The consumer runner: a BullMQ worker on one queue (a service's event queue or command queue) that applies each
 * message exactly once to the service's own database.
 *
 * - Idempotent: the message id is inserted into the service's `inbox` in the same transaction as the handler's
 *   effect. A redelivered message (a retry after a crash, a duplicate job) finds its id there and changes nothing;
 *   two deliveries at once are serialized by the inbox's primary key, and the second one sees the first's commit.
 * - Group commit: the jobs in hand at once (up to `batchSize`) share one transaction: one inbox insert for all of
 *   them, their handlers one after the other, one commit. A transaction costs a disk flush at commit and three
 *   statements besides the handler's, which one message per transaction paid every time (bench:events: the
 *   consumer was the pipeline's bottleneck). Up to `transactions` batches run at once, each on its own connection,
 *   and the jobs taken meanwhile wait for the next free one, so batches grow with the load by themselves (one
 *   message, one transaction when idle). A worker takes `transactions` x `batchSize` jobs in hand
 *   ({@link consumerSizing}): with 8 jobs in hand for 2 transactions, every job waited for its own batch's commit
 *   and the next fetch, batches stayed at 2-3 messages and a consumer alone on a backlog carried 1,100-1,600
 *   messages/s, less than 8 producers commit; with 8 x 16 it carries about twice that (README, events benchmark).
 *   When a handler of a batch throws, the batch rolls back, that job fails with the error (retried with backoff, as
 *   alone) and the others are applied again without it; so a handler runs once per attempt of its own, but may run
 *   again for a neighbour's failure, as it already could after a crash, which is why effects outside the database
 *   carry an idempotency key (notifications' transports). A batch that fails otherwise (a deadlock or serialization
 *   failure in a handler, the commit, a lost connection) is applied again one message per transaction, one after
 *   the other. The jobs are acknowledged after the commit; a crash in between redelivers them to the inbox, which
 *   has them.
 * - Validated: the envelope and the payload are checked against the catalogue before any handler runs. A malformed
 *   message is failed as unrecoverable (BullMQ's UnrecoverableError): it goes straight to the dead letters with the
 *   reason, and the worker goes on with the next job. A handler error is retried with exponential backoff; after the
 *   last attempt the job stays in the queue's failed set, which is the dead-letter state (dead-letters.ts lists,
 *   shows and replays it).
 * - Traced: the handler runs with the message's correlation id as the request context (so every log line carries
 *   it), and messages it writes to the outbox name this message as their cause.
 * - Graceful: `close()` lets the jobs in hand finish, then stops taking new ones (BullMQ `Worker.close`).
 */
import { UnrecoverableError, Worker, type Job, type RedisOptions } from "bullmq";
import type { Registry } from "prom-client";
import { runWithRequestContext, type Logger } from "@ecom/observability";
import type { MessageType } from "./catalogue.ts";
import { parseMessage, runWithMessage, type Message } from "./envelope.ts";
import { noFaults, type FaultInjector } from "./faults.ts";
import { eventMetrics, typeLabel } from "./metrics.ts";
import type { SqlTransaction } from "./outbox.ts";
import { typesOfQueue } from "./topology.ts";

/** What a handler gets besides the message and the transaction. */
export interface HandlerContext {
  /** Logger with the message's ids (and, through the request context, its correlation id). */
  logger: Logger;
  /** 1 for the first attempt. */
  attempt: number;
  /** The queue the message came from. */
  queue: string;
}

/**
 * Applies one message inside the transaction `tx` (Prisma's interactive transaction client of the service). Throw
 * to fail the attempt (the transaction, inbox row included, rolls back); return normally to commit.
 */
export type MessageHandler<T extends MessageType, Tx> = (message: Message<T>, tx: Tx, ctx: HandlerContext) => Promise<void>;

/** One handler per message type the queue receives. */
export type MessageHandlers<Types extends MessageType, Tx> = { [K in Types]: MessageHandler<K, Tx> };

/** What the runner needs of the service's database: `$transaction(fn, options)` of Prisma or of `pgDatabase`. */
export interface TransactionalDatabase<Tx extends SqlTransaction> {
  $transaction<R>(fn: (tx: Tx) => Promise<R>, options?: { maxWait?: number; timeout?: number }): Promise<R>;
}

/** Options of {@link createConsumer}. */
export interface ConsumerOptions<Types extends MessageType, Tx extends SqlTransaction> {
  /** e.g. `eventQueueName("search")`. Also the consumer's name in the inbox. */
  queue: string;
  /** The service's database: `pgDatabase(pool)` (plain pg) or its Prisma client. */
  db: TransactionalDatabase<Tx>;
  /** A handler for every type the queue receives (checked at start: a missing or extra handler is an error). */
  handlers: MessageHandlers<Types, Tx>;
  /**
   * Redis connection options (e.g. `{ url }`); BullMQ opens its own connections from them (a worker needs a blocking
   * one, with `maxRetriesPerRequest: null`, which the runner sets).
   */
  connection: RedisOptions;
  prefix: string;
  logger: Logger;
  registry: Registry;
  /**
   * Jobs in hand at once (BullMQ's worker concurrency): those waiting for a transaction and those in one.
   * @default 8
   */
  concurrency?: number;
  /**
   * Most messages applied in one transaction (see the module comment); 1 gives each message its own transaction.
   * @default concurrency
   */
  batchSize?: number;
  /**
   * Transactions at once, each on a database connection of its own (jobs taken meanwhile wait and join the next).
   * A worker runs `transactions` x `batchSize` jobs in hand ({@link consumerSizing}).
   * @default 2
   */
  transactions?: number;
  /**
   * Longest a handler's transaction may run, and may wait for a connection (`timeout` and `maxWait`).
   * @default 30000
   */
  transactionTimeoutMs?: number;
  /**
   * How long a job in hand stays locked to this worker without a renewal (renewed every half of it while the
   * worker lives); a crashed worker's jobs go back to the queue once it lapses, found by a check at the same
   * interval. BullMQ's `lockDuration` and `stalledInterval`.
   * @default 30000
   */
  lockDurationMs?: number;
  /** Test-only crash points (see faults.ts). */
  faults?: FaultInjector;
  /**
   * Start taking jobs at once.
   * @default true
   */
  autorun?: boolean;
}

/**
 * How a worker sizes a consumer: `transactions` at once (a database connection each), each applying up to
 * `batchSize` messages, and as many jobs in hand as they can take. (Jobs in hand cost a lock each in Redis, renewed
 * for all of them in one call every half lock duration; a crashed worker's are redelivered when their locks lapse.)
 */
export function consumerSizing(transactions: number, batchSize: number): { concurrency: number; transactions: number; batchSize: number } {
  return { concurrency: transactions * batchSize, transactions, batchSize };
}

/** A running consumer. */
export interface Consumer {
  readonly queue: string;
  readonly worker: Worker;
  /** Resolves when the worker is connected and taking jobs. */
  ready(): Promise<void>;
  /** Finishes the jobs in hand, then stops. Idempotent. */
  close(): Promise<void>;
}

const INSERT_INBOX = `INSERT INTO inbox (consumer, message_id, type) VALUES ($1, $2::uuid, $3) ON CONFLICT DO NOTHING`;
// Ordered by id: two batches with overlapping ids (a redelivery racing the original) take the inbox's key locks in
// the same order, so they wait for each other instead of deadlocking. Duplicates within the batch insert once.
const INSERT_INBOX_BATCH = `
INSERT INTO inbox (consumer, message_id, type)
SELECT $1, m.id, m.type FROM unnest($2::uuid[], $3::text[]) AS m(id, type) ORDER BY m.id
ON CONFLICT DO NOTHING
RETURNING message_id::text AS id`;

/**
 * A deadlock or serialization failure (Postgres 40P01 / 40001, Prisma's P2034), however it is wrapped: a handler
 * that failed with one may have failed only because its batch held its neighbours' locks too.
 */
export function isTransientConflict(error: unknown): boolean {
  for (let e = error as { code?: unknown; message?: unknown; cause?: unknown } | null | undefined, depth = 0; e && depth < 5; depth++) {
    if (e.code === "40P01" || e.code === "40001" || e.code === "P2034") return true;
    if (typeof e.message === "string" && /\b(40P01|40001)\b|deadlock detected|could not serialize access/.test(e.message)) return true;
    e = e.cause as typeof e;
  }
  return false;
}

type Outcome = "applied" | "duplicate";

/** A job waiting for its batch. */
interface Pending {
  job: Job;
  message: Message;
  started: number;
  /** The handler's logger, once it asked for it. */
  logger?: Logger;
  resolve(outcome: Outcome): void;
  reject(error: unknown): void;
}

/** Starts a consumer on `options.queue`. @throws Error when the handlers do not match the queue's message types. */
export function createConsumer<Types extends MessageType, Tx extends SqlTransaction>(options: ConsumerOptions<Types, Tx>): Consumer {
  const { queue, db, logger } = options;
  const handlers = options.handlers as unknown as Record<string, MessageHandler<MessageType, Tx> | undefined>;
  const expected = typesOfQueue(queue);
  const missing = expected.filter((t) => !handlers[t]);
  const extra = Object.keys(handlers).filter((t) => !expected.includes(t as MessageType));
  if (missing.length > 0 || extra.length > 0) {
    throw new Error(
      `The handlers of ${queue} do not match the topology (packages/events/src/topology.ts): ` +
        [missing.length ? `missing ${missing.join(", ")}` : "", extra.length ? `not routed to ${queue}: ${extra.join(", ")}` : ""]
          .filter(Boolean)
          .join("; "),
    );
  }
  const metrics = eventMetrics(options.registry);
  const faults = options.faults ?? noFaults;
  const timeout = options.transactionTimeoutMs ?? 30_000;

  const concurrency = options.concurrency ?? 8;
  const batchSize = Math.max(1, Math.min(options.batchSize ?? concurrency, concurrency));
  const transactions = Math.max(1, options.transactions ?? 2);

  const idsOf = (message: Message) => ({ queue, messageId: message.id, type: message.type, aggregateId: message.aggregateId });
  /** Runs `fn` with the message's correlation id as the request context and the message as the cause of writes. */
  const asMessage = <R>(message: Message, fn: () => R): R =>
    runWithRequestContext({ requestId: message.id, correlationId: message.correlationId }, () => runWithMessage(message, fn));
  const runHandler = (item: Pending, tx: Tx) =>
    asMessage(item.message, () =>
      handlers[item.message.type]!(item.message, tx, {
        // Made when a handler first logs: a child logger costs ~10 µs, a noticeable part of a message's CPU time
        // (bench:events), and most handlers never log.
        get logger() {
          return (item.logger ??= logger.child(idsOf(item.message)));
        },
        attempt: item.job.attemptsMade + 1,
        queue,
      }),
    );

  /** After the commit: metrics and the log line of one applied (or duplicate) message. */
  function settled(item: Pending, outcome: Outcome) {
    const { message, job } = item;
    metrics.consumed.inc({ queue, type: message.type, outcome });
    metrics.handlerDuration.observe({ queue, type: message.type }, (performance.now() - item.started) / 1000);
    if (outcome === "applied") {
      metrics.endToEndLag.observe({ queue, type: message.type }, Math.max(0, (Date.now() - Date.parse(message.occurredAt)) / 1000));
    }
    runWithRequestContext({ requestId: message.id, correlationId: message.correlationId }, () =>
      logger.info(
        { ...idsOf(message), outcome, aggregateVersion: message.aggregateVersion, attempt: job.attemptsMade + 1 },
        `message ${outcome}`,
      ),
    );
    item.resolve(outcome);
  }

  /** One message in its own transaction. */
  async function applyOne(item: Pending) {
    try {
      const outcome = await db.$transaction(
        async (tx) => {
          const inserted = await tx.$executeRawUnsafe(INSERT_INBOX, queue, item.message.id, item.message.type);
          if (inserted === 0) return "duplicate" as const;
          await runHandler(item, tx);
          return "applied" as const;
        },
        { timeout, maxWait: timeout },
      );
      faults.reach("consumer:after-commit");
      settled(item, outcome);
    } catch (error) {
      item.reject(error);
    }
  }

  /** Several messages in one transaction (see the module comment); one by one when that fails. */
  async function applyBatch(items: Pending[]) {
    // Same lock order in every batch (by aggregate, then stream position), and each aggregate's messages in order.
    items.sort(
      (a, b) =>
        a.message.aggregateType.localeCompare(b.message.aggregateType) ||
        a.message.aggregateId.localeCompare(b.message.aggregateId) ||
        a.message.aggregateVersion - b.message.aggregateVersion,
    );
    let outcomes: Outcome[];
    let failed: { item: Pending; error: unknown } | undefined;
    try {
      outcomes = await db.$transaction(
        async (tx) => {
          const rows = await tx.$queryRawUnsafe<Array<{ id: string }>>(
            INSERT_INBOX_BATCH,
            queue,
            items.map((i) => i.message.id),
            items.map((i) => i.message.type),
          );
          const fresh = new Set(rows.map((r) => r.id.toLowerCase()));
          const result: Outcome[] = [];
          for (const item of items) {
            // `delete`: a message twice in one batch is applied by its first copy only.
            if (!fresh.delete(item.message.id)) {
              result.push("duplicate");
              continue;
            }
            try {
              await runHandler(item, tx);
            } catch (error) {
              failed = { item, error };
              throw error;
            }
            result.push("applied");
          }
          return result;
        },
        { timeout, maxWait: timeout },
      );
    } catch (err) {
      // A conflict with another transaction may be of the batch's own making (more locks held for longer): every
      // message is applied again on its own, the failed one included, so that batching never costs an attempt.
      if (failed && !isTransientConflict(failed.error)) {
        const { item, error } = failed;
        item.reject(error);
        const rest = items.filter((i) => i !== item);
        logger.debug({ err, queue, messages: rest.length }, "a handler failed; the rest of its batch is applied again without it");
        if (rest.length > 1) await applyBatch(rest);
        else if (rest.length === 1) await applyOne(rest[0]!);
        return;
      }
      logger.debug({ err, queue, messages: items.length }, "batch rolled back; applying its messages one by one");
      // One after the other, on this batch's turn: a consumer never holds more than `transactions` connections.
      for (const item of items) await applyOne(item);
      return;
    }
    faults.reach("consumer:after-commit");
    items.forEach((item, i) => settled(item, outcomes[i]!));
  }

  const waiting: Pending[] = [];
  let inFlight = 0;
  let flushScheduled = false;
  function flush() {
    flushScheduled = false;
    while (waiting.length > 0 && inFlight < transactions) {
      const items = waiting.splice(0, batchSize);
      inFlight += 1;
      void (items.length === 1 ? applyOne(items[0]!) : applyBatch(items)).finally(() => {
        inFlight -= 1;
        flush();
      });
    }
  }

  function process(job: Job): Promise<Outcome> {
    const parsed = parseMessage(job.data);
    // Not retried: the same bytes would fail the same way. The reason is the job's failedReason.
    if (!parsed.ok) return Promise.reject(new UnrecoverableError(`malformed message: ${parsed.reason}`));
    const message = parsed.message;
    if (!handlers[message.type]) return Promise.reject(new UnrecoverableError(`no handler for ${message.type} in ${queue}`));
    if (job.processedOn) metrics.queueWait.observe({ queue }, Math.max(0, (job.processedOn - job.timestamp) / 1000));
    return new Promise<Outcome>((resolve, reject) => {
      waiting.push({ job, message, started: performance.now(), resolve, reject });
      // Jobs taken in the same turn of the event loop join one batch.
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    });
  }

  const worker = new Worker(queue, process, {
    connection: { ...options.connection, maxRetriesPerRequest: null },
    prefix: options.prefix,
    concurrency,
    autorun: options.autorun ?? true,
    lockDuration: options.lockDurationMs ?? 30_000,
    stalledInterval: options.lockDurationMs ?? 30_000,
    // A job whose worker died is handed on again, up to 5 times (BullMQ fails it after its default of 1): the inbox
    // makes a second run harmless, and a crash-looping fleet should not turn messages into dead letters.
    maxStalledCount: 5,
  });
  worker.on("error", (err) => logger.warn({ err, queue }, "consumer connection error"));
  worker.on("failed", (job, err) => {
    if (!job) return;
    const type = typeLabel((job.data as { type?: unknown } | undefined)?.type);
    const malformed = err.name === "UnrecoverableError";
    const dead = malformed || job.attemptsMade >= (job.opts.attempts ?? 1);
    const correlationId = (job.data as { correlationId?: unknown } | undefined)?.correlationId;
    const context = { requestId: String(job.id), correlationId: typeof correlationId === "string" ? correlationId : String(job.id) };
    runWithRequestContext(context, () => {
      if (dead) {
        metrics.consumed.inc({ queue, type, outcome: "dead" });
        metrics.deadLettered.inc({ queue, type, reason: malformed ? "malformed" : "exhausted" });
        logger.error({ queue, jobId: job.id, type, attempts: job.attemptsMade, reason: err.message }, "message dead-lettered");
      } else {
        metrics.consumed.inc({ queue, type, outcome: "failed" });
        metrics.retries.inc({ queue, type });
        logger.warn({ queue, jobId: job.id, type, attempt: job.attemptsMade, err }, "message failed; will retry");
      }
    });
  });

  let closing: Promise<void> | undefined;
  return {
    queue,
    worker,
    ready: () => worker.waitUntilReady().then(() => undefined),
    close: () => (closing ??= worker.close()),
  };
}
