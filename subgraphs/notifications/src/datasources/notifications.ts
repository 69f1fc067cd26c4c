import DataLoader from "dataloader";
import type { LoaderOptions } from "@ecom/service";
import { isUuid } from "@ecom/service";
import { Prisma, type PrismaClient } from "../generated/prisma/client.ts";

/** Delivery channels (the GraphQL enum `Channel`). */
export type Channel = "EMAIL" | "SMS" | "PUSH";

/** A stored notification as the domain and the resolvers see it. */
export interface NotificationRecord {
  id: string;
  userId: string;
  channel: Channel;
  subject: string;
  body: string;
  dedupeKey: string;
  readAt: Date | null;
  createdAt: Date;
}

/** A `User` entity as this subgraph knows it: its id only (the users subgraph owns the rest). */
export interface UserRef {
  id: string;
}

/** What {@link NotificationsRepository.createOnce} writes. */
export interface NewNotification {
  userId: string;
  channel: Channel;
  subject: string;
  body: string;
  dedupeKey: string;
  /** Defaults to the database's now(); seeds set it to replay history. */
  createdAt?: Date;
}

/** One `User.notifications` lookup: a user's newest `first` notifications. */
export interface NotificationsRequest {
  userId: string;
  first: number;
}

interface NotificationRow {
  id: string;
  user_id: string;
  channel: Channel;
  subject: string;
  body: string;
  dedupe_key: string;
  read_at: Date | null;
  created_at: Date;
}

const fromRow = (r: NotificationRow): NotificationRecord => ({
  id: r.id,
  userId: r.user_id,
  channel: r.channel,
  subject: r.subject,
  body: r.body,
  dedupeKey: r.dedupe_key,
  readAt: r.read_at,
  createdAt: r.created_at,
});

/** Data access of the notifications subgraph. */
export class NotificationsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * The newest notifications of several users, each with its own limit, in the order asked: one statement for the
   * whole batch. A LATERAL subquery with LIMIT per user walks the (user_id, created_at DESC, id DESC) index and
   * stops after `first` rows, however many notifications a user has (a window function would rank them all).
   */
  async latestForUsers(requests: readonly NotificationsRequest[]): Promise<NotificationRecord[][]> {
    // A user asked for twice (different `first`) is read once, with the larger limit, then sliced per request.
    const limits = new Map<string, number>();
    for (const { userId, first } of requests) {
      const id = userId.toLowerCase();
      if (isUuid(id) && first > 0) limits.set(id, Math.max(first, limits.get(id) ?? 0));
    }
    if (limits.size === 0) return requests.map(() => []);
    const rows = await this.prisma.$queryRaw<NotificationRow[]>`
      SELECT n.id::text, n.user_id::text, n.channel::text, n.subject, n.body, n.dedupe_key, n.read_at, n.created_at
        FROM unnest(${[...limits.keys()]}::uuid[], ${[...limits.values()]}::int[]) AS req(user_id, lim)
       CROSS JOIN LATERAL (
             SELECT * FROM notifications
              WHERE notifications.user_id = req.user_id
              ORDER BY created_at DESC, id DESC
              LIMIT req.lim
           ) AS n
       ORDER BY n.user_id, n.created_at DESC, n.id DESC`;
    const byUser = new Map<string, NotificationRecord[]>();
    for (const row of rows) {
      const list = byUser.get(row.user_id) ?? [];
      list.push(fromRow(row));
      byUser.set(row.user_id, list);
    }
    return requests.map(({ userId, first }) => (byUser.get(userId.toLowerCase()) ?? []).slice(0, Math.max(first, 0)));
  }

  /**
   * Stores a notification unless one with its dedupe key exists; either way returns the stored one. Concurrent
   * duplicates store one row: the dedupe key is unique and the losers read the winner's row.
   */
  async createOnce(data: NewNotification): Promise<{ notification: NotificationRecord; created: boolean }> {
    const existing = await this.prisma.notification.findUnique({ where: { dedupeKey: data.dedupeKey } });
    if (existing) return { notification: existing, created: false };
    try {
      return { notification: await this.prisma.notification.create({ data }), created: true };
    } catch (error) {
      if (!(error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002")) throw error;
      const winner = await this.prisma.notification.findUnique({ where: { dedupeKey: data.dedupeKey } });
      if (!winner) throw error;
      return { notification: winner, created: false };
    }
  }

  /**
   * Marks `userId`'s notification `id` read (the first read time is kept). Null when there is no such notification
   * of this user: another user's notification is indistinguishable from a missing one.
   */
  async markRead(id: string, userId: string): Promise<NotificationRecord | null> {
    if (!isUuid(id) || !isUuid(userId)) return null;
    const [updated] = await this.prisma.notification.updateManyAndReturn({
      where: { id, userId, readAt: null },
      data: { readAt: new Date() },
    });
    return updated ?? this.prisma.notification.findFirst({ where: { id, userId } });
  }
}

/** The DataLoaders of one request. */
export interface Loaders {
  notificationsByUser: DataLoader<NotificationsRequest, NotificationRecord[], string>;
}

/** Fresh loaders for one request: every `User.notifications` of a request becomes one query. */
export function createLoaders(repo: NotificationsRepository, options: Partial<LoaderOptions> = {}): Loaders {
  return {
    notificationsByUser: new DataLoader((requests) => repo.latestForUsers(requests), {
      ...options,
      cacheKeyFn: ({ userId, first }) => `${userId.toLowerCase()}:${first}`,
    }),
  };
}
