import DataLoader from "dataloader";
import type { LoaderOptions } from "@ecom/service";
import type { Role } from "@ecom/auth";
import { createOutbox } from "@ecom/events";
import { isUuid } from "@ecom/service";
import { Prisma, type PrismaClient } from "../generated/prisma/client.ts";

/** A user as resolvers see it (never with the password hash). */
export interface UserRecord {
  id: string;
  email: string;
  name: string;
  role: Role;
  createdAt: Date;
}

const publicFields = { id: true, email: true, name: true, role: true, createdAt: true } as const;

/** Thrown by {@link UsersRepository.create} when the email is taken. */
export class EmailTakenError extends Error {
  readonly brand = "EmailTakenError" as const;
  constructor(readonly email: string) {
    super(`Email ${email} is already registered.`);
  }
}

/** True when `error` is an {@link EmailTakenError}. */
export const isEmailTakenError = (error: unknown): error is EmailTakenError =>
  (error as { brand?: unknown } | null)?.brand === "EmailTakenError";

/** The users outbox: sign-ups are announced in the transaction that creates the account. */
const outbox = createOutbox({ producer: "users" });

/** Data access of the users subgraph. */
export class UsersRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /** Users by id, in the order asked (null where missing): one statement for the whole batch. */
  async findByIds(ids: readonly string[]): Promise<Array<UserRecord | null>> {
    const valid = ids.filter(isUuid);
    const rows = valid.length ? await this.prisma.user.findMany({ where: { id: { in: [...new Set(valid)] } }, select: publicFields }) : [];
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  /** The user with this email and its password hash, for login. */
  findCredentials(email: string): Promise<(UserRecord & { passwordHash: string }) | null> {
    return this.prisma.user.findUnique({ where: { email }, select: { ...publicFields, passwordHash: true } });
  }

  /**
   * Creates a user and writes `user.registered.v1` in the same transaction.
   * @throws EmailTakenError when the email is registered already.
   */
  async create(data: { email: string; name: string; passwordHash: string; role?: Role }): Promise<UserRecord> {
    try {
      return await this.prisma.$transaction(async (tx) => {
        const user = await tx.user.create({ data, select: publicFields });
        await outbox.write(tx, {
          type: "user.registered.v1",
          aggregateId: user.id,
          payload: { userId: user.id, email: user.email, name: user.name },
        });
        return user;
      });
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") throw new EmailTakenError(data.email);
      throw error;
    }
  }

  /** Creates or updates a user by email (seed). */
  upsertByEmail(data: { id?: string; email: string; name: string; passwordHash: string; role: Role }): Promise<UserRecord> {
    return this.prisma.user.upsert({
      where: { email: data.email },
      create: data,
      update: { name: data.name, role: data.role },
      select: publicFields,
    });
  }
}

/** The DataLoaders of one request. */
export interface Loaders {
  userById: DataLoader<string, UserRecord | null>;
}

/** Fresh loaders for one request: all `User` lookups of a request become one query. */
export function createLoaders(repo: UsersRepository, options: Partial<LoaderOptions> = {}): Loaders {
  return { userById: new DataLoader((ids) => repo.findByIds(ids), { ...options }) };
}
