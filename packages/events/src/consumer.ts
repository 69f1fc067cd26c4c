/**
 * The consumer runner: a BullMQ worker on one queue (a service's event queue or command queue) that applies each
 * message exactly once to the service's own database.
 *
 * - Idempotent: the message id is inserted into the service's `inbox` in the same transaction as the handler's
 *   effect. A redelivered message (a retry after a crash, a duplicate job) finds its id there and changes nothing;
 *   two deliveries at once are serialized by the inbox's primary key, and the second one sees the first's commit.
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

/** What the runner needs of the service's database: Prisma's `$transaction(fn, options)`. */
export interface TransactionalDatabase<Tx extends SqlTransaction> {
  $transaction<R>(fn: (tx: Tx) => Promise<R>, options?: { maxWait?: number; timeout?: number }): Promise<R>;
}

/** Options of {@link createConsumer}. */
export interface ConsumerOptions<Types extends MessageType, Tx extends SqlTransaction> {
  /** e.g. `eventQueueName("search")`. Also the consumer's name in the inbox. */
  queue: string;
  /** The service's Prisma client. */
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
   * Jobs handled at once by this process (each needs a database connection for its transaction).
   * @default 8
   */
  concurrency?: number;
  /**
   * Longest a handler's transaction may run.
   * @default 30000
   */
  transactionTimeoutMs?: number;
  /** Test-only crash points (see faults.ts). */
  faults?: FaultInjector;
  /**
   * How long a job's lock lasts without renewal: a worker that died holding jobs gives them back (stalled) after
   * about this long. BullMQ's default.
   * @default 30000
   */
  lockDurationMs?: number;
  /**
   * Start taking jobs at once.
   * @default true
   */
  autorun?: boolean;
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

  async function process(job: Job): Promise<"applied" | "duplicate"> {
    const parsed = parseMessage(job.data);
    if (!parsed.ok) {
      // Not retried: the same bytes would fail the same way. The reason is the job's failedReason.
      throw new UnrecoverableError(`malformed message: ${parsed.reason}`);
    }
    const message = parsed.message;
    const handler = handlers[message.type];
    if (!handler) throw new UnrecoverableError(`no handler for ${message.type} in ${queue}`);
    const started = performance.now();
    if (job.processedOn) metrics.queueWait.observe({ queue }, Math.max(0, (job.processedOn - job.timestamp) / 1000));
    const log = logger.child({ queue, messageId: message.id, type: message.type, aggregateId: message.aggregateId });
    const outcome = await runWithRequestContext({ requestId: message.id, correlationId: message.correlationId }, () =>
      runWithMessage(message, () =>
        db.$transaction(
          async (tx) => {
            const inserted = await tx.$executeRawUnsafe(INSERT_INBOX, queue, message.id, message.type);
            if (inserted === 0) return "duplicate" as const;
            await handler(message, tx, { logger: log, attempt: job.attemptsMade + 1, queue });
            return "applied" as const;
          },
          { timeout, maxWait: timeout },
        ),
      ),
    );
    faults.reach("consumer:after-commit");
    metrics.consumed.inc({ queue, type: message.type, outcome });
    metrics.handlerDuration.observe({ queue, type: message.type }, (performance.now() - started) / 1000);
    if (outcome === "applied") {
      metrics.endToEndLag.observe({ queue, type: message.type }, Math.max(0, (Date.now() - Date.parse(message.occurredAt)) / 1000));
    }
    runWithRequestContext({ requestId: message.id, correlationId: message.correlationId }, () =>
      log.info({ outcome, aggregateVersion: message.aggregateVersion, attempt: job.attemptsMade + 1 }, `message ${outcome}`),
    );
    return outcome;
  }

  const worker = new Worker(queue, process, {
    connection: { ...options.connection, maxRetriesPerRequest: null },
    prefix: options.prefix,
    concurrency: options.concurrency ?? 8,
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
