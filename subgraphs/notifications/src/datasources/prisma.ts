import { createPrismaAdapter, type PrismaAdapterOptions } from "@ecom/db";
import { PrismaClient } from "../generated/prisma/client.ts";

export type { PrismaClient };

/** The notifications database: a Prisma client on a pg pool (the pool also serves readiness checks). */
export function createDatabase(url: string, options: PrismaAdapterOptions = {}) {
  const { adapter, pool } = createPrismaAdapter(url, { applicationName: "notifications", ...options });
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
