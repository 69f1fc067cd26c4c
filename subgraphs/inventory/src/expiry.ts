/**
 * Releases expired reservations: a BullMQ job scheduler (`upsertJobScheduler`, one schedule however many workers
 * upsert it) adds a job every interval; whichever worker takes it gives back the stock of every ACTIVE reservation
 * past its expiry (a checkout that never confirmed, e.g. its orchestrator was down for longer than the TTL).
 */
import { Queue, Worker } from "bullmq";
import type { SqlTransaction, TransactionalDatabase } from "@ecom/events";
import type { Logger } from "@ecom/observability";
import { ReservationsRepository } from "./datasources/reservations.ts";

/** The queue of the expiry jobs. */
export const EXPIRY_QUEUE = "inventory.reservations";

/** The expiry scheduler and its worker. */
export interface ReservationExpiry {
  start(): Promise<void>;
  /** One pass now; resolves with how many reservations were released. */
  releaseExpired(): Promise<number>;
  close(): Promise<void>;
}

/** Options of {@link createReservationExpiry}. */
export interface ReservationExpiryOptions {
  /** The inventory database (the worker's plain pg transactions; a Prisma client works too). */
  db: TransactionalDatabase<SqlTransaction>;
  redisUrl: string;
  prefix: string;
  logger: Logger;
  intervalMs: number;
}

export function createReservationExpiry(options: ReservationExpiryOptions): ReservationExpiry {
  const connection = { url: options.redisUrl, maxRetriesPerRequest: null };
  const queue = new Queue(EXPIRY_QUEUE, { connection, prefix: options.prefix });
  queue.on("error", (err) => options.logger.warn({ err }, "expiry queue error"));
  let worker: Worker | undefined;

  async function releaseExpired(): Promise<number> {
    let total = 0;
    for (;;) {
      const released = await ReservationsRepository.releaseExpired(options.db, 100);
      total += released;
      if (released < 100) break;
    }
    if (total > 0) options.logger.info({ released: total }, "expired reservations released");
    return total;
  }

  return {
    releaseExpired,
    async start() {
      await queue.upsertJobScheduler(
        "release-expired",
        { every: options.intervalMs },
        { name: "release-expired", opts: { removeOnComplete: true, removeOnFail: 100, attempts: 1 } },
      );
      worker = new Worker(EXPIRY_QUEUE, async () => ({ released: await releaseExpired() }), {
        connection,
        prefix: options.prefix,
        concurrency: 1,
      });
      worker.on("error", (err) => options.logger.warn({ err }, "expiry worker error"));
      worker.on("failed", (_job, err) => options.logger.warn({ err }, "releasing expired reservations failed; the next run retries"));
      await worker.waitUntilReady();
    },
    async close() {
      await worker?.close();
      await queue.close();
    },
  };
}
