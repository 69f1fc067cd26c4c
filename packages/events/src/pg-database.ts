/**
 * The outbox and consumer contracts over a plain `pg` pool, for code that does not run on Prisma (this package's
 * tests, the benchmark's raw-SQL variant, scripts). Services pass their Prisma client instead.
 */
import type pg from "pg";
import type { TransactionalDatabase } from "./consumer.ts";
import type { SqlTransaction } from "./outbox.ts";

/** A transaction on one pooled connection. */
export interface PgTransaction extends SqlTransaction {
  client: pg.PoolClient;
}

/** `$transaction` over `pool`: BEGIN, `fn`, COMMIT (ROLLBACK when `fn` throws). */
export function pgDatabase(pool: pg.Pool): TransactionalDatabase<PgTransaction> {
  return {
    async $transaction<R>(fn: (tx: PgTransaction) => Promise<R>): Promise<R> {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const tx: PgTransaction = {
          client,
          $queryRawUnsafe: async <T>(query: string, ...values: unknown[]) => (await client.query(query, values)).rows as T,
          $executeRawUnsafe: async (query: string, ...values: unknown[]) => (await client.query(query, values)).rowCount ?? 0,
        };
        const result = await fn(tx);
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
  };
}
