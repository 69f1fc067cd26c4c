/**
 * Creates every service's database and role when missing, then applies each service's migrations.
 * Idempotent. `npm run db:bootstrap`; `npm start` runs it too.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { bootstrapDatabases, checkPostgres, discoverServiceDatabases } from "@ecom/db";
import { loadToolEnv } from "./env.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Runs the bootstrap; `log` receives one progress line per step. */
export async function bootstrap(log: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<void> {
  const env = loadToolEnv();
  await checkPostgres(env.POSTGRES_ADMIN_URL);
  const services = discoverServiceDatabases(ROOT);
  log(`bootstrapping ${services.length} service databases: ${services.map((s) => s.name).join(", ")}`);
  await bootstrapDatabases({ adminUrl: env.POSTGRES_ADMIN_URL, services, urlFor: env.databaseUrlFor, onProgress: log });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  bootstrap().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
