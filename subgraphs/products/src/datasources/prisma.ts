import { createPrismaAdapter, type PrismaAdapterOptions } from "@ecom/db";
import { PrismaClient } from "../generated/prisma/client.ts";

export type { PrismaClient };

/** Options of {@link createDatabase}. */
export interface DatabaseOptions extends PrismaAdapterOptions {
  /** Receives errors of idle pooled connections (Postgres restarted, connection killed); the pool replaces them. */
  onPoolError?: (error: Error) => void;
}

/** The products database: a Prisma client on a pg pool (the pool also serves readiness checks). */
export function createDatabase(url: string, options: DatabaseOptions = {}) {
  const { onPoolError, ...adapterOptions } = options;
  const { adapter, pool } = createPrismaAdapter(url, { applicationName: "products", ...adapterOptions });
  // The Prisma adapter listens for idle-client errors only while connected; without a listener of our own, such an
  // error during or after disconnect (pool.end() resolves before its sockets close) is an uncaught exception.
  pool.on("error", (error) => onPoolError?.(error));
  const prisma = new PrismaClient({ adapter });
  return {
    prisma,
    pool,
    /** Readiness: the database answers. */
    check: () => pool.query("SELECT 1"),
    close: async () => {
      await prisma.$disconnect();
      await pool.end().catch(() => {});
    },
  };
}

/** What {@link createDatabase} returns. */
export type Database = ReturnType<typeof createDatabase>;
