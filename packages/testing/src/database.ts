import { randomBytes } from "node:crypto";
import { formatPgUrl, parsePgUrl, quoteIdent, withPgClient } from "@ecom/db";
import { runDatabaseUrl, type TestRunInfo } from "./run.ts";

/** A fresh, migrated, empty database of one service, private to the test that made it. */
export interface TestDatabase extends AsyncDisposable {
  /** URL for the service role (the one the service runs as). */
  url: string;
  /** Database name. */
  name: string;
  /** Drops the database. */
  drop(): Promise<void>;
}

/**
 * Clones the run's migrated database of `service` (Postgres `CREATE DATABASE ... TEMPLATE`, a file copy:
 * milliseconds, not a migration). Use with `await using db = await createTestDatabase(run, "orders")`.
 */
export async function createTestDatabase(run: TestRunInfo, service: string): Promise<TestDatabase> {
  if (!run.services.includes(service)) throw new Error(`No database for service "${service}" (known: ${run.services.join(", ")})`);
  const template = parsePgUrl(runDatabaseUrl(run, service));
  const name = `${template.database}_${randomBytes(4).toString("hex")}`;
  const admin = parsePgUrl(run.adminUrl);
  await withPgClient(admin, async (c) => {
    // CREATE DATABASE ... TEMPLATE fails (55006) while any session is connected to the template: a test peeking
    // at it, or another clone being made. Such sessions are short; retry for up to 10 s (a loaded CI machine).
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await c.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(template.database)} OWNER ${quoteIdent(template.user)}`);
        break;
      } catch (error) {
        if ((error as { code?: string }).code !== "55006" || Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 50 + Math.random() * 150));
      }
    }
    await c.query(`REVOKE ALL ON DATABASE ${quoteIdent(name)} FROM PUBLIC`);
    await c.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${quoteIdent(name)} TO ${quoteIdent(template.user)}`);
  });
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await withPgClient(admin, (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
  };
  return { url: formatPgUrl({ ...template, database: name }), name, drop, [Symbol.asyncDispose]: drop };
}
