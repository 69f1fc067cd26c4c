/** Seeds the demo users (API.md) through the users data layer. Idempotent: existing users are kept. */
import { DEMO_PASSWORD, demoUsers } from "@ecom/demo-data";
import { createDatabase } from "./datasources/prisma.ts";
import { UsersRepository } from "./datasources/users.ts";
import { hashPassword } from "./domain/password.ts";
import { loadEnv } from "./env.ts";
import { SEED_DATABASE_OPTIONS } from "@ecom/db";

/** Upserts the demo users into the database at `databaseUrl`. */
export async function seed(databaseUrl: string): Promise<{ users: number }> {
  const db = createDatabase(databaseUrl, SEED_DATABASE_OPTIONS);
  try {
    const repo = new UsersRepository(db.prisma);
    for (const user of demoUsers) {
      await repo.upsertByEmail({ ...user, passwordHash: await hashPassword(DEMO_PASSWORD) });
    }
    return { users: demoUsers.length };
  } finally {
    await db.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const env = loadEnv();
  const result = await seed(env.DATABASE_URL);
  process.stdout.write(`users: seeded ${result.users} demo users\n`);
}
