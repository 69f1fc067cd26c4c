/**
 * The outbox relay: moves committed, unsent outbox rows to BullMQ and marks them sent.
 *
 * - Exactly one job per message and queue: the job id is the message id, and BullMQ ignores a second add of a job
 *   id it holds. A relay that dies after adding but before marking leaves the rows unsent; the next round adds them
 *   again, which adds nothing.
 * - Several relays at once: each round locks its rows with `FOR UPDATE SKIP LOCKED`, so relays take disjoint rows
 *   and never wait for each other.
 * - Order per aggregate: a row is sent only when every earlier unsent row of its aggregate is in the same batch,
 *   and a batch is added in sequence order (BullMQ keeps a queue's insertion order). Rows of one aggregate held by
 *   another relay wait for the next round. Consumers still see retried jobs late, so handlers use
 *   `aggregateVersion` where order matters.
 * - Latency: the relay polls, adaptively: at once after a full batch, `minPollIntervalMs` after a partial one (rows
 *   keep coming: the short wait gathers the next batch), and after empty rounds a wait that doubles up to
 *   `pollIntervalMs` (idle, a poll is one index lookup). No LISTEN/NOTIFY: a transaction that NOTIFYs takes a
 *   cluster-wide lock from its commit until the end of it (Postgres serializes notifiers so that notifications
 *   appear in commit order), so a NOTIFY per outbox write serialized every such commit, disk flush included, of
 *   every service sharing the Postgres server: measured here, 8 writers commit ~2.5x fewer transactions per second
 *   with it (bench:events: it capped the producers).
 * - Round trips: a round is two statements to Postgres (`BEGIN` + lock the batch, mark sent + `COMMIT`, each sent
 *   as one simple-protocol query with only integers inlined) and one `addBulk` per queue to Redis.
 * - Sent rows are pruned after the retention period, in small batches.
 */
import { Queue, type JobsOptions } from "bullmq";
import type { Redis } from "ioredis";
import type pg from "pg";
import type { Registry } from "prom-client";
import type { Logger } from "@ecom/observability";
import type { Message } from "./envelope.ts";
import { noFaults, type FaultInjector } from "./faults.ts";
import { eventMetrics } from "./metrics.ts";

/** How jobs are retried and kept: BullMQ job options the relay sets on every job it adds. */
export interface DeliveryOptions {
  /**
   * Attempts before a job becomes a dead letter.
   * @default 8
   */
  attempts?: number;
  /**
   * First retry delay of the exponential backoff (then twice as long each time: 1 s, 2 s, 4 s...).
   * @default 1000
   */
  backoffMs?: number;
  /**
   * How long a completed job is kept. While it is, a second add with its id is ignored (duplicate protection beyond
   * the consumers' inbox) and the dashboard shows it.
   * @default 86400000 (24 h)
   */
  keepCompletedMs?: number;
  /**
   * At most this many completed jobs are kept per queue.
   * @default 10000
   */
  keepCompletedCount?: number;
}

/** BullMQ job options from {@link DeliveryOptions}. Failed jobs are never removed: they are the dead letters. */
export function jobOptionsOf(delivery: DeliveryOptions = {}): JobsOptions {
  return {
    attempts: delivery.attempts ?? 8,
    backoff: { type: "exponential", delay: delivery.backoffMs ?? 1000 },
    removeOnComplete: { age: Math.ceil((delivery.keepCompletedMs ?? 86_400_000) / 1000), count: delivery.keepCompletedCount ?? 10_000 },
    removeOnFail: false,
  };
}

/** Options of {@link createOutboxRelay}. */
export interface OutboxRelayOptions {
  /** The producing service (`producer` of every envelope). */
  producer: string;
  /** The service's database pool (its outbox tables). */
  pool: pg.Pool;
  /** Redis connection for the queues (shared; not closed by the relay). */
  connection: Redis;
  /** BullMQ key prefix (isolates test runs and environments). */
  prefix: string;
  logger: Logger;
  registry: Registry;
  /**
   * Rows per round.
   * @default 200
   */
  batchSize?: number;
  /**
   * Longest wait between rounds, reached after a run of empty rounds (the worst-case delay of an event written
   * after a quiet period).
   * @default 500
   */
  pollIntervalMs?: number;
  /**
   * Wait after a round that sent a partial batch, and the first wait after an empty one (then doubled each empty
   * round up to `pollIntervalMs`).
   * @default 20 (or `pollIntervalMs` if smaller)
   */
  minPollIntervalMs?: number;
  /**
   * Sent rows are deleted after this long.
   * @default 604800000 (7 days)
   */
  retentionMs?: number;
  /**
   * How often pruning runs.
   * @default 60000
   */
  pruneIntervalMs?: number;
  /** Job options of the added jobs. */
  delivery?: DeliveryOptions;
  /** Test-only crash points (see faults.ts). */
  faults?: FaultInjector;
}

/** A running (or runnable) relay. */
export interface OutboxRelay {
  /** Starts the loop (rounds, pruning, backlog metrics). */
  start(): Promise<void>;
  /** Finishes the round in progress, then stops. Idempotent. */
  stop(): Promise<void>;
  /** One round: sends up to `batchSize` rows; resolves with how many were sent. */
  relayOnce(): Promise<number>;
  /** Deletes sent rows older than the retention period; resolves with how many. */
  prune(): Promise<number>;
  /** Unsent rows and the age of the oldest, in seconds. */
  backlog(): Promise<{ count: number; oldestAgeSeconds: number }>;
}

interface OutboxRow {
  seq: string;
  id: string;
  type: string;
  queues: string[] | null;
  aggregate_type: string;
  aggregate_id: string;
  aggregate_version: number;
  occurred_at: Date;
  correlation_id: string;
  causation_id: string | null;
  payload: unknown;
}

// The batch is the oldest unsent rows no other relay holds; of those, a row goes only if no earlier unsent row of
// its aggregate is outside the batch (held by another relay: the only unsent rows before the batch's last that it
// skipped). Those stay locked until this transaction ends and are sent by a later round, in order.
// Both scans read unsent rows only, through the (published_at, seq) index, whatever the number of sent rows kept for
// the retention period: ordered by seq alone, the planner walked the primary key through every sent row before the
// first unsent one, and the check per aggregate (written as NOT EXISTS on the table) was a hash anti-join over a
// sequential scan of the whole outbox, every round (bench:events: ~40 µs per relayed row).
const SELECT_BATCH = (limit: number) => `
WITH batch AS (
  SELECT seq, id, type, queues, aggregate_type, aggregate_id, aggregate_version, occurred_at, correlation_id, causation_id, payload
  FROM outbox
  WHERE published_at IS NULL
  ORDER BY published_at, seq
  LIMIT ${limit}
  FOR UPDATE SKIP LOCKED
),
held_elsewhere AS (
  SELECT aggregate_type, aggregate_id, seq
  FROM outbox
  WHERE published_at IS NULL
    AND seq < (SELECT max(seq) FROM batch)
    AND seq NOT IN (SELECT seq FROM batch)
)
SELECT b.seq::text AS seq, b.id::text AS id, b.type, b.queues, b.aggregate_type, b.aggregate_id, b.aggregate_version,
       b.occurred_at, b.correlation_id, b.causation_id, b.payload
FROM batch b
WHERE NOT EXISTS (
  SELECT 1 FROM held_elsewhere h
  WHERE h.aggregate_type = b.aggregate_type AND h.aggregate_id = b.aggregate_id AND h.seq < b.seq
)
ORDER BY b.seq`;

// Inlined, not bound: a simple query can carry the COMMIT in the same round trip. Only digits reach the text.
const MARK_SENT_AND_COMMIT = (seqs: readonly string[]) => {
  if (!seqs.every((seq) => /^\d{1,19}$/.test(seq))) throw new Error(`not outbox sequence numbers: ${seqs.join(",")}`);
  return `UPDATE outbox SET published_at = now(), attempts = attempts + 1, last_error = NULL WHERE seq = ANY('{${seqs.join(",")}}'::bigint[]); COMMIT`;
};
const RECORD_ERROR = `UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE seq = ANY($1::bigint[])`;
const PRUNE = `
DELETE FROM outbox WHERE seq IN (
  SELECT seq FROM outbox WHERE published_at IS NOT NULL AND published_at < now() - make_interval(secs => $1::double precision / 1000)
  ORDER BY published_at LIMIT 1000
)`;
const BACKLOG = `
SELECT count(*)::int AS count, COALESCE(EXTRACT(EPOCH FROM now() - min(occurred_at)), 0)::float8 AS age
FROM outbox WHERE published_at IS NULL`;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });

/** A relay over the outbox of `options.pool`. */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { pool, logger, producer } = options;
  const batchSize = options.batchSize ?? 200;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`relay batchSize must be a positive integer, not ${batchSize}`);
  const beginAndSelect = `BEGIN; ${SELECT_BATCH(batchSize)}`;
  const pollIntervalMs = options.pollIntervalMs ?? 500;
  const minPollIntervalMs = Math.min(options.minPollIntervalMs ?? 20, pollIntervalMs);
  const retentionMs = options.retentionMs ?? 7 * 86_400_000;
  const pruneIntervalMs = options.pruneIntervalMs ?? 60_000;
  const faults = options.faults ?? noFaults;
  const jobOptions = jobOptionsOf(options.delivery);
  const metrics = eventMetrics(options.registry);
  const queues = new Map<string, Queue>();
  const queueOf = (name: string) => {
    let queue = queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: options.connection, prefix: options.prefix });
      queue.on("error", (err) => logger.warn({ err, queue: name }, "queue connection error"));
      queues.set(name, queue);
    }
    return queue;
  };

  let running = false;
  let loop: Promise<void> | undefined;
  const stopping = new AbortController();
  const timers: NodeJS.Timeout[] = [];

  const toMessage = (row: OutboxRow): Message =>
    ({
      id: row.id,
      type: row.type,
      aggregateType: row.aggregate_type,
      aggregateId: row.aggregate_id,
      aggregateVersion: row.aggregate_version,
      occurredAt: row.occurred_at.toISOString(),
      correlationId: row.correlation_id,
      causationId: row.causation_id,
      producer,
      payload: row.payload,
    }) as Message;

  async function relayOnce(): Promise<number> {
    const client = await pool.connect();
    let seqs: string[] = [];
    try {
      // A multi-statement simple query answers with one result per statement: [BEGIN, SELECT].
      const results = (await client.query(beginAndSelect)) as unknown as Array<pg.QueryResult<OutboxRow>>;
      const rows = results[1]!.rows;
      if (rows.length === 0) {
        await client.query("COMMIT");
        return 0;
      }
      seqs = rows.map((r) => r.seq);
      faults.reach("relay:before-add");
      // Per queue, in sequence order; queues are independent of each other.
      const byQueue = new Map<string, Array<{ name: string; data: Message; opts: JobsOptions }>>();
      for (const row of rows) {
        const message = toMessage(row);
        for (const queue of row.queues ?? []) {
          let jobs = byQueue.get(queue);
          if (!jobs) byQueue.set(queue, (jobs = []));
          jobs.push({ name: row.type, data: message, opts: { ...jobOptions, jobId: row.id } });
        }
      }
      await Promise.all([...byQueue].map(([queue, jobs]) => queueOf(queue).addBulk(jobs)));
      faults.reach("relay:after-add");
      await client.query(MARK_SENT_AND_COMMIT(seqs));
      const now = Date.now();
      for (const row of rows) {
        metrics.published.inc({ type: row.type });
        metrics.publishLag.observe(Math.max(0, (now - row.occurred_at.getTime()) / 1000));
      }
      return rows.length;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      if (seqs.length > 0) {
        const reason = error instanceof Error ? error.message : String(error);
        await pool.query(RECORD_ERROR, [seqs, reason.slice(0, 1000)]).catch(() => {});
      }
      throw error;
    } finally {
      client.release();
    }
  }

  async function prune(): Promise<number> {
    let total = 0;
    for (;;) {
      const { rowCount } = await pool.query(PRUNE, [retentionMs]);
      total += rowCount ?? 0;
      if (!rowCount || rowCount < 1000 || stopping.signal.aborted) break;
    }
    if (total > 0) metrics.pruned.inc({ table: "outbox" }, total);
    return total;
  }

  async function backlog() {
    const { rows } = await pool.query<{ count: number; age: number }>(BACKLOG);
    return { count: rows[0]?.count ?? 0, oldestAgeSeconds: rows[0]?.age ?? 0 };
  }

  async function refreshBacklog() {
    try {
      const { count, oldestAgeSeconds } = await backlog();
      metrics.backlog.set(count);
      metrics.oldestUnsentAge.set(oldestAgeSeconds);
    } catch (err) {
      logger.debug({ err }, "outbox backlog not measured");
    }
  }

  async function run() {
    let failures = 0;
    let idleWait = minPollIntervalMs;
    while (running) {
      let sent: number;
      try {
        sent = await relayOnce();
        failures = 0;
      } catch (err) {
        failures += 1;
        metrics.relayErrors.inc();
        logger.error({ err }, "outbox relay round failed; retrying");
        await sleep(Math.min(30_000, 200 * 2 ** Math.min(failures, 8)), stopping.signal);
        continue;
      }
      // A full batch: more is waiting. A partial one: rows are coming, gather the next batch for a moment.
      // Nothing: wait longer each time, up to the poll interval.
      if (sent >= batchSize) {
        idleWait = minPollIntervalMs;
        continue;
      }
      if (sent > 0) idleWait = minPollIntervalMs;
      await sleep(sent > 0 ? minPollIntervalMs : idleWait, stopping.signal);
      if (sent === 0) idleWait = Math.min(pollIntervalMs, idleWait * 2);
    }
  }

  return {
    async start() {
      if (running) return;
      running = true;
      loop = run();
      timers.push(setInterval(() => void refreshBacklog(), 5000).unref());
      timers.push(
        setInterval(() => void prune().catch((err: unknown) => logger.warn({ err }, "outbox pruning failed")), pruneIntervalMs).unref(),
      );
      await refreshBacklog();
      logger.info({ producer, batchSize, pollIntervalMs, minPollIntervalMs }, "outbox relay started");
    },
    async stop() {
      if (!running) return;
      running = false;
      stopping.abort();
      for (const timer of timers) clearInterval(timer);
      await loop;
      await Promise.all([...queues.values()].map((q) => q.close()));
      logger.info({ producer }, "outbox relay stopped");
    },
    relayOnce,
    prune,
    backlog,
  };
}
