import { createServiceDatabase, type PrismaAdapterOptions } from "@ecom/db";
import { PrismaClient, type Prisma } from "../generated/prisma/client.ts";

export type { PrismaClient };

/** The payments database: a Prisma client on a pg pool (the pool also serves readiness checks). */
export function createDatabase(url: string, options: PrismaAdapterOptions = {}) {
  return createServiceDatabase(PrismaClient, url, { applicationName: "payments", ...options });
}

/** What {@link createDatabase} returns. */
export type Database = ReturnType<typeof createDatabase>;

/** A transaction of the payments database (what the saga's command handlers write through). */
export type Transaction = Prisma.TransactionClient;
