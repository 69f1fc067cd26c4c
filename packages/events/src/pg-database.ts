/**
 * The outbox and consumer contracts over a plain `pg` pool: the checkout saga's workers (orders, inventory, payments)
 * run their consumers' and handlers' transactions through it, as do this package's tests, the benchmarks and scripts
 * (fewer statements and about half the CPU of Prisma's interactive transactions, bench:saga). Services that run on
 * Prisma can pass their Prisma client to the consumer instead; both honour `{ maxWait, timeout }` the same way.
 */
import pg from "pg";
import type { TransactionalDatabase } from "./consumer.ts";
import type { SqlTransaction } from "./outbox.ts";

/** A transaction on one pooled connection. */
export interface PgTransaction extends SqlTransaction {
  client: pg.PoolClient;
}

/**
 * A transaction that could not start within `maxWait` (`TRANSACTION_MAX_WAIT`: no connection came free) or was still
 * open after `timeout` (`TRANSACTION_TIMEOUT`: rolled back). Prisma reports both as P2028.
 */
export class TransactionTimeoutError extends Error {
  override readonly name = "TransactionTimeoutError";
  constructor(
    readonly code: "TRANSACTION_MAX_WAIT" | "TRANSACTION_TIMEOUT",
    message: string,
  ) {
    super(message);
  }
}

export const isTransactionTimeout = (error: unknown): error is TransactionTimeoutError => error instanceof TransactionTimeoutError;

/** Resolves with `pool.connect()`, or rejects after `maxWait` ms; a connection that comes later goes back to the pool. */
function connectWithin(pool: pg.Pool, maxWait: number | undefined): Promise<pg.PoolClient> {
  if (maxWait === undefined) return pool.connect();
  // A race rather than the pool's connectionTimeoutMillis: that one is the pool's, for every caller, and fixed at
  // construction, while maxWait is per transaction.
  return new Promise((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(
        new TransactionTimeoutError(
          "TRANSACTION_MAX_WAIT",
          `could not start a transaction within maxWait (${maxWait} ms): no connection of the pool (max ${pool.options.max ?? 10}) came free`,
        ),
      );
    }, maxWait);
    pool.connect().then(
      (client) => {
        clearTimeout(timer);
        if (late) client.release();
        else resolve(client);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * Cancels what the backend of `client` is running, over a connection of its own (the pool may be exhausted; that is
 * when transactions time out). Without it the backend would run its statement to the end, holding the transaction's
 * locks, before it noticed its closed socket. Fire and forget: the connection is destroyed anyway.
 */
function cancelBackend(pool: pg.Pool, client: pg.PoolClient) {
  // node-postgres keeps the backend's pid (from BackendKeyData) on the client but does not type it.
  const pid = (client as unknown as { processID?: number }).processID;
  if (!pid) return;
  const canceller = new pg.Client({ ...pool.options, statement_timeout: 5_000, connectionTimeoutMillis: 5_000 });
  canceller.on("error", () => {});
  canceller
    .connect()
    .then(() => canceller.query("SELECT pg_cancel_backend($1)", [pid]))
    .catch(() => {})
    .finally(() => canceller.end().catch(() => {}));
}

/**
 * `$transaction` over `pool`: BEGIN, `fn`, COMMIT (ROLLBACK when `fn` throws), with Prisma's interactive-transaction
 * options: `maxWait` bounds the wait for a connection, `timeout` the transaction from BEGIN to COMMIT. A transaction
 * still open after `timeout` is rolled back: the caller gets a TransactionTimeoutError at once, the running statement
 * is cancelled and the connection is destroyed rather than returned to the pool (its session is mid-transaction,
 * closing it rolls back), and `fn`'s further statements fail. Without options only Postgres' own limits apply
 * (statement_timeout, idle_in_transaction_session_timeout). Postgres 17's transaction_timeout would do the server
 * side of this in one setting, but the platform runs Postgres 15.
 */
export function pgDatabase(pool: pg.Pool): TransactionalDatabase<PgTransaction> {
  return {
    async $transaction<R>(fn: (tx: PgTransaction) => Promise<R>, options?: { maxWait?: number; timeout?: number }): Promise<R> {
      const client = await connectWithin(pool, options?.maxWait);
      const timeout = options?.timeout;
      let expired: TransactionTimeoutError | undefined;
      let timer: NodeJS.Timeout | undefined;
      let destroyed = false;
      const destroy = (reason: Error) => {
        if (destroyed) return;
        destroyed = true;
        client.release(reason);
      };
      const query = (text: string, values?: unknown[]) => {
        if (expired) return Promise.reject(expired);
        return client.query(text, values);
      };
      const expiry = new Promise<never>((_, reject) => {
        if (timeout === undefined) return;
        timer = setTimeout(() => {
          expired = new TransactionTimeoutError(
            "TRANSACTION_TIMEOUT",
            `transaction rolled back: still open after its timeout (${timeout} ms)`,
          );
          cancelBackend(pool, client);
          destroy(expired);
          reject(expired);
        }, timeout);
      });
      expiry.catch(() => {});
      try {
        const run = async () => {
          await query("BEGIN");
          const tx: PgTransaction = {
            client,
            $queryRawUnsafe: async <T>(text: string, ...values: unknown[]) => (await query(text, values)).rows as T,
            $executeRawUnsafe: async (text: string, ...values: unknown[]) => (await query(text, values)).rowCount ?? 0,
          };
          const result = await fn(tx);
          if (expired) throw expired;
          // No expiry once COMMIT is sent: cancelling it would leave the caller not knowing whether it committed.
          clearTimeout(timer);
          await query("COMMIT");
          return result;
        };
        return await Promise.race([run(), expiry]);
      } catch (error) {
        clearTimeout(timer);
        if (!expired && !destroyed) await client.query("ROLLBACK").catch((e: Error) => destroy(e));
        throw expired ?? error;
      } finally {
        clearTimeout(timer);
        if (!destroyed) client.release();
      }
    },
  };
}
