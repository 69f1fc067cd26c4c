import { randomUUID } from "node:crypto";
import { demoOrders, demoUsers } from "@ecom/demo-data";
import { createTestDatabase } from "@ecom/testing";
import { describe, expect, inject, it } from "vitest";
import { createLoaders, NotificationsRepository, type Channel } from "../src/datasources/notifications.ts";
import { createDatabase } from "../src/datasources/prisma.ts";
import { NotificationsService } from "../src/domain/notifications-service.ts";
import { seed } from "../src/seed.ts";
import { ADMIN, ALICE, BOB, codesOf, notificationStatements, sql, startNotifications } from "./support.ts";

const run = inject("testRun");

interface NotificationView {
  id: string;
  channel: Channel;
  subject: string;
  body: string;
  createdAt: string;
  readAt: string | null;
}

type Entities = { _entities: Array<{ id: string; notifications: NotificationView[] }> };

const USER_NOTIFICATIONS = `query($reps: [_Any!]!, $first: Int) {
  _entities(representations: $reps) { ... on User { id notifications(first: $first) { id channel subject body createdAt readAt } } }
}`;
const userReps = (...ids: string[]) => ids.map((id) => ({ __typename: "User", id }));

/** A service over a private connection, for writing fixtures the way the event consumers will. */
async function withService<T>(url: string, fn: (service: NotificationsService) => Promise<T>): Promise<T> {
  const db = createDatabase(url, { max: 10 });
  try {
    return await fn(new NotificationsService(new NotificationsRepository(db.prisma)));
  } finally {
    await db.close();
  }
}

/** Stores `count` notifications for `userId`, one minute apart (the last is the newest); returns their subjects. */
function notifyMany(service: NotificationsService, userId: string, count: number, start = Date.parse("2026-11-01T00:00:00Z")) {
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      service
        .notify(
          {
            userId,
            channel: (["EMAIL", "SMS", "PUSH"] as const)[i % 3]!,
            subject: `${userId.slice(-4)} #${i}`,
            body: `body ${i}`,
            dedupeKey: `${userId}:${i}`,
          },
          { at: new Date(start + i * 60_000) },
        )
        .then((r) => r.notification.subject),
    ),
  );
}

const countRows = async (url: string) => Number((await sql<{ n: string }>(url, "SELECT count(*)::text AS n FROM notifications"))[0]!.n);

describe("User.notifications", () => {
  it("shows a user their own notifications, newest first", async () => {
    await using db = await createTestDatabase(run, "notifications");
    const subjects = await withService(db.url, (s) => notifyMany(s, ALICE.userId, 4));
    await using api = await startNotifications(db.url);

    const res = await api.gql<Entities>(USER_NOTIFICATIONS, { reps: userReps(ALICE.userId) }, ALICE);

    expect(res.errors).toBeUndefined();
    const list = res.data!._entities[0]!.notifications;
    expect(list.map((n) => n.subject)).toEqual([...subjects].reverse());
    expect(list[0]).toMatchObject({ channel: "EMAIL", body: "body 3", createdAt: "2026-11-01T00:03:00.000Z", readAt: null });
  });

  it("returns an empty list for anyone but the user: another customer, an ADMIN, an anonymous caller", async () => {
    await using db = await createTestDatabase(run, "notifications");
    await withService(db.url, async (s) => {
      await notifyMany(s, ALICE.userId, 3);
      await notifyMany(s, BOB.userId, 2);
    });
    await using api = await startNotifications(db.url);
    const lengths = async (identity: typeof ALICE | null) => {
      const res = await api.gql<Entities>(USER_NOTIFICATIONS, { reps: userReps(ALICE.userId, BOB.userId) }, identity);
      expect(res.errors).toBeUndefined();
      return res.data!._entities.map((e) => e.notifications.length);
    };

    // The gateway resolving both users for Alice (e.g. through an order's buyer) gets only Alice's.
    expect(await lengths(ALICE)).toEqual([3, 0]);
    expect(await lengths(BOB)).toEqual([0, 2]);
    expect(await lengths(ADMIN)).toEqual([0, 0]);
    expect(await lengths(null)).toEqual([0, 0]);
  });

  it("returns at most first (default 20), and refuses first outside 0..100 with BAD_USER_INPUT", async () => {
    await using db = await createTestDatabase(run, "notifications");
    const subjects = await withService(db.url, (s) => notifyMany(s, ALICE.userId, 25));
    await using api = await startNotifications(db.url);
    const newest = [...subjects].reverse();
    const subjectsFor = async (first: number | undefined) => {
      const res = await api.gql<Entities>(
        USER_NOTIFICATIONS,
        { reps: userReps(ALICE.userId), ...(first === undefined ? {} : { first }) },
        ALICE,
      );
      expect(res.errors).toBeUndefined();
      return res.data!._entities[0]!.notifications.map((n) => n.subject);
    };

    expect(await subjectsFor(undefined)).toEqual(newest.slice(0, 20));
    expect(await subjectsFor(5)).toEqual(newest.slice(0, 5));
    expect(await subjectsFor(100)).toEqual(newest);
    expect(await subjectsFor(0)).toEqual([]);
    for (const first of [-1, 101]) {
      for (const identity of [ALICE, BOB]) {
        const res = await api.gql(USER_NOTIFICATIONS, { reps: userReps(ALICE.userId), first }, identity);
        expect(codesOf(res), `first ${first}`).toEqual(["BAD_USER_INPUT"]);
        expect(res.errors![0]!.extensions!.field).toBe("first");
      }
    }
  });

  it("loads N users' notifications in one statement, each with its own limit", async () => {
    await using db = await createTestDatabase(run, "notifications");
    const users = Array.from({ length: 5 }, () => randomUUID());
    const stored = await withService(db.url, async (s) => Promise.all(users.map((u, i) => notifyMany(s, u, 3 + i))));
    const statements: string[] = [];
    const database = createDatabase(db.url, { onQuery: (text) => statements.push(text) });
    try {
      const loaders = createLoaders(new NotificationsRepository(database.prisma));
      const firsts = [1, 2, 10, 4, 2];
      // The same user twice with different limits, and a user with no notifications, in the same batch.
      const requests = [
        ...users.map((userId, i) => ({ userId, first: firsts[i]! })),
        { userId: users[0]!, first: 3 },
        { userId: randomUUID(), first: 5 },
      ];

      const lists = await Promise.all(requests.map((r) => loaders.notificationsByUser.load(r)));

      expect(notificationStatements(statements)).toHaveLength(1);
      const expected = requests.map(({ userId, first }) => {
        const index = users.indexOf(userId);
        return index < 0 ? [] : [...stored[index]!].reverse().slice(0, first);
      });
      expect(lists.map((l) => l.map((n) => n.subject))).toEqual(expected);
      expect(lists.every((list, i) => list.every((n) => n.userId === requests[i]!.userId))).toBe(true);
    } finally {
      await database.close();
    }
  });

  it("answers several notifications fields of the caller in one request with one statement", async () => {
    await using db = await createTestDatabase(run, "notifications");
    await withService(db.url, (s) => notifyMany(s, ALICE.userId, 6));
    await using api = await startNotifications(db.url);

    api.resetStatements();
    const res = await api.gql<{ _entities: Array<{ few: unknown[]; more: unknown[] }> }>(
      `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { few: notifications(first: 2) { id } more: notifications(first: 5) { id } } } }`,
      { reps: userReps(ALICE.userId, BOB.userId, ALICE.userId) },
      ALICE,
    );

    expect(res.errors).toBeUndefined();
    expect(res.data!._entities.map((e) => [e.few.length, e.more.length])).toEqual([
      [2, 5],
      [0, 0],
      [2, 5],
    ]);
    expect(notificationStatements(api.statements)).toHaveLength(1);
  });
});

describe("notify", () => {
  it("is idempotent by dedupe key: retries and 10 concurrent duplicates store one notification, the first payload wins", async () => {
    await using db = await createTestDatabase(run, "notifications");
    await withService(db.url, async (service) => {
      const input = {
        userId: ALICE.userId,
        channel: "EMAIL" as const,
        subject: "Order confirmed",
        body: "Thanks!",
        dedupeKey: "order-confirmed:1",
      };
      const first = await service.notify(input);
      expect(first.created).toBe(true);

      const retried = await service.notify({ ...input, subject: "A different subject" });
      expect(retried).toEqual({ notification: first.notification, created: false });

      const concurrentInput = { ...input, dedupeKey: "order-confirmed:2" };
      const concurrent = await Promise.all(Array.from({ length: 10 }, () => service.notify(concurrentInput)));
      expect(new Set(concurrent.map((r) => r.notification.id)).size).toBe(1);
      expect(concurrent.filter((r) => r.created)).toHaveLength(1);
    });
    expect(await countRows(db.url)).toBe(2);
  });

  it("validates subject (1..200), body (1..10000), dedupe key, user id and channel with BAD_USER_INPUT", async () => {
    await using db = await createTestDatabase(run, "notifications");
    await withService(db.url, async (service) => {
      const valid = { userId: ALICE.userId, channel: "SMS" as const, subject: "s", body: "b", dedupeKey: "k" };
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ subject: "" }, "subject"],
        [{ subject: "x".repeat(201) }, "subject"],
        [{ body: "" }, "body"],
        [{ body: "x".repeat(10_001) }, "body"],
        [{ dedupeKey: "" }, "dedupeKey"],
        [{ dedupeKey: "k".repeat(256) }, "dedupeKey"],
        [{ userId: "alice" }, "userId"],
        [{ channel: "PIGEON" }, "channel"],
      ];
      for (const [override, field] of cases) {
        await expect(service.notify({ ...valid, ...override } as typeof valid), field).rejects.toMatchObject({
          extensions: { code: "BAD_USER_INPUT", field },
        });
      }
      expect(await countRows(db.url)).toBe(0);

      // The bounds themselves are accepted.
      const longest = await service.notify({ ...valid, subject: "x".repeat(200), body: "y".repeat(10_000), dedupeKey: "k".repeat(255) });
      expect(longest.created).toBe(true);
    });
  });
});

describe("markNotificationRead", () => {
  const MARK = `mutation($id: ID!) { markNotificationRead(id: $id) { id readAt } }`;

  it("marks the caller's own notification read once; NOT_FOUND for others' and unknown ids; UNAUTHENTICATED when anonymous", async () => {
    await using db = await createTestDatabase(run, "notifications");
    const { notification } = await withService(db.url, (s) =>
      s.notify({ userId: ALICE.userId, channel: "PUSH", subject: "Shipped", body: "On its way", dedupeKey: "shipped:1" }),
    );
    await using api = await startNotifications(db.url);

    const read = await api.gql<{ markNotificationRead: { id: string; readAt: string } }>(MARK, { id: notification.id }, ALICE);
    expect(read.errors).toBeUndefined();
    expect(read.data!.markNotificationRead.readAt).toEqual(expect.any(String));
    const again = await api.gql<{ markNotificationRead: { id: string; readAt: string } }>(MARK, { id: notification.id }, ALICE);
    expect(again.data!.markNotificationRead.readAt).toBe(read.data!.markNotificationRead.readAt);

    expect(codesOf(await api.gql(MARK, { id: notification.id }, BOB))).toEqual(["NOT_FOUND"]);
    expect(codesOf(await api.gql(MARK, { id: notification.id }, ADMIN))).toEqual(["NOT_FOUND"]);
    expect(codesOf(await api.gql(MARK, { id: randomUUID() }, ALICE))).toEqual(["NOT_FOUND"]);
    expect(codesOf(await api.gql(MARK, { id: "nope" }, ALICE))).toEqual(["NOT_FOUND"]);
    expect(codesOf(await api.gql(MARK, { id: notification.id }, null))).toEqual(["UNAUTHENTICATED"]);

    const list = await api.gql<Entities>(USER_NOTIFICATIONS, { reps: userReps(ALICE.userId) }, ALICE);
    expect(list.data!._entities[0]!.notifications[0]!.readAt).toBe(read.data!.markNotificationRead.readAt);
  });
});

describe("seed", () => {
  it("seeds a welcome EMAIL per demo user and a confirmation per demo order, idempotently", async () => {
    await using db = await createTestDatabase(run, "notifications");
    const confirmed = demoOrders.filter((o) => o.status === "CONFIRMED");
    const expected = demoUsers.length + confirmed.length;

    expect(await seed(db.url)).toEqual({ notifications: expected });
    expect(await seed(db.url)).toEqual({ notifications: expected });
    expect(await countRows(db.url)).toBe(expected);

    await using api = await startNotifications(db.url);
    for (const user of demoUsers) {
      const identity = { userId: user.id, role: user.role };
      const res = await api.gql<Entities>(USER_NOTIFICATIONS, { reps: userReps(user.id) }, identity);
      const list = res.data!._entities[0]!.notifications;
      const orders = confirmed.filter((o) => o.buyerId === user.id);
      expect(list.map((n) => n.subject)).toEqual([
        ...[...orders].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).map((o) => `Your order ${o.key} is confirmed`),
        "Welcome to the shop",
      ]);
      expect(list.every((n) => n.channel === "EMAIL")).toBe(true);
    }
  });
});
