/**
 * Dead letters: jobs that failed for good (a malformed message, or a handler that failed every attempt). They stay
 * in their queue's failed set (the relay adds jobs with `removeOnFail: false`) with the reason and the stack trace,
 * where an operator lists and inspects them, and replays them once the cause is fixed (`npm run events -- dlq ...`).
 * A replay moves the job back to waiting with its attempts reset; optionally with a corrected payload first. The
 * message keeps its id, so a replayed message that had in fact been applied (it cannot, but an operator may replay
 * twice) has no second effect: the consumers' inbox remembers it.
 */
import { Queue, type Job } from "bullmq";
import type { Redis } from "ioredis";
import { catalogue, isMessageType } from "./catalogue.ts";
import { allQueueNames } from "./topology.ts";

/** One dead letter, as listed. */
export interface DeadLetterSummary {
  queue: string;
  /** The job id: the message id. */
  id: string;
  type: string;
  aggregateId: string | null;
  correlationId: string | null;
  /** Why it failed (the last attempt's error). */
  reason: string;
  attempts: number;
  /** When it failed for the last time (ISO-8601). */
  failedAt: string | null;
}

/** A dead letter with everything needed to decide what to do with it. */
export interface DeadLetter extends DeadLetterSummary {
  /** The job's data: the message as delivered. */
  data: unknown;
  /** The stack traces of the attempts. */
  stacktrace: string[];
  /** When the job was added (ISO-8601). */
  addedAt: string;
}

/** Where the dead letters are. */
export interface DeadLetterStoreOptions {
  connection: Redis;
  prefix: string;
  /**
   * The queues to look in.
   * @default every queue of the topology
   */
  queues?: readonly string[];
}

/** Thrown by {@link DeadLetterStore.replay} for a corrected payload that still does not match the catalogue. */
export class InvalidReplayError extends Error {
  readonly brand = "InvalidReplayError" as const;
}

/** Lists, shows and replays dead letters. */
export interface DeadLetterStore {
  /** Dead letters, newest first (at most `limit` per queue). */
  list(options?: { queue?: string; limit?: number }): Promise<DeadLetterSummary[]>;
  /** The dead letters with this id (one per queue the message failed in). */
  show(id: string, options?: { queue?: string }): Promise<DeadLetter[]>;
  /**
   * Moves the dead letters with this id back to waiting, attempts reset; with `payload`, replaces the message's
   * payload first (validated against the catalogue). Resolves with the queues it was replayed in.
   * @throws InvalidReplayError for a payload the catalogue rejects (nothing is replayed).
   */
  replay(id: string, options?: { queue?: string; payload?: unknown }): Promise<string[]>;
  /** Replays every dead letter (of one queue). Resolves with how many. */
  replayAll(options?: { queue?: string }): Promise<number>;
  /** Dead letters per queue. */
  counts(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

const iso = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : null);

function summaryOf(queue: string, job: Job): DeadLetterSummary {
  const data = (job.data ?? {}) as Record<string, unknown>;
  return {
    queue,
    id: String(job.id),
    type: typeof data["type"] === "string" ? data["type"] : job.name,
    aggregateId: typeof data["aggregateId"] === "string" ? data["aggregateId"] : null,
    correlationId: typeof data["correlationId"] === "string" ? data["correlationId"] : null,
    reason: job.failedReason ?? "",
    attempts: job.attemptsMade,
    failedAt: iso(job.finishedOn),
  };
}

/** The dead letters of the queues in `options`. */
export function createDeadLetterStore(options: DeadLetterStoreOptions): DeadLetterStore {
  const names = options.queues ?? allQueueNames();
  const queues = new Map(names.map((name) => [name, new Queue(name, { connection: options.connection, prefix: options.prefix })]));
  const pick = (queue?: string) => {
    if (queue === undefined) return [...queues];
    const found = queues.get(queue);
    if (!found) throw new Error(`Unknown queue "${queue}" (queues: ${names.join(", ")})`);
    return [[queue, found] as const];
  };
  const failedJob = async (queue: Queue, id: string) => {
    const job = await queue.getJob(id);
    return job && (await job.isFailed()) ? job : undefined;
  };

  return {
    async list({ queue, limit = 100 } = {}) {
      const lists = await Promise.all(
        pick(queue).map(async ([name, q]) => (await q.getFailed(0, limit - 1)).filter(Boolean).map((job) => summaryOf(name, job))),
      );
      return lists.flat().sort((a, b) => (b.failedAt ?? "").localeCompare(a.failedAt ?? ""));
    },
    async show(id, { queue } = {}) {
      const found = await Promise.all(
        pick(queue).map(async ([name, q]) => {
          const job = await failedJob(q, id);
          if (!job) return [];
          return [
            { ...summaryOf(name, job), data: job.data, stacktrace: job.stacktrace ?? [], addedAt: new Date(job.timestamp).toISOString() },
          ];
        }),
      );
      return found.flat();
    },
    async replay(id, { queue, payload } = {}) {
      const jobs = (await Promise.all(pick(queue).map(async ([name, q]) => ({ name, job: await failedJob(q, id) })))).filter(
        (j): j is { name: string; job: Job } => j.job !== undefined,
      );
      if (payload !== undefined) {
        for (const { job } of jobs) {
          const type = (job.data as { type?: unknown }).type;
          if (!isMessageType(type))
            throw new InvalidReplayError(`Job ${id} has no known type ("${String(type)}"): it cannot take a payload.`);
          const check = catalogue[type].payload.safeParse(payload);
          if (!check.success) {
            throw new InvalidReplayError(
              `The corrected payload is not a valid ${type}: ${check.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
            );
          }
        }
        for (const { job } of jobs) await job.updateData({ ...(job.data as object), payload });
      }
      for (const { job } of jobs) await job.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
      return jobs.map((j) => j.name);
    },
    async replayAll({ queue } = {}) {
      let replayed = 0;
      for (const [, q] of pick(queue)) {
        for (;;) {
          const batch = (await q.getFailed(0, 99)).filter(Boolean);
          if (batch.length === 0) break;
          for (const job of batch) await job.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
          replayed += batch.length;
        }
      }
      return replayed;
    },
    async counts() {
      const entries = await Promise.all([...queues].map(async ([name, q]) => [name, await q.getFailedCount()] as const));
      return Object.fromEntries(entries);
    },
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}
