/**
 * The checkout saga under crashes: hundreds of checkouts (a random mix of accepted and declined cards and of orders
 * for more than the stock) while the orders worker (orchestrator and relay), the inventory and payments workers
 * (participants and relays) and the notifications worker (consumer) are SIGKILLed at random moments and
 * restarted, some of them armed to kill themselves at an exact fault point of the relay or the consumer. After the
 * chaos stops and everything drains, the invariant checker (checkout-invariants.ts) looks at every database.
 *
 * CHECKOUT_CRASH_ORDERS=1000 runs a longer one (default 200, a few minutes on a loaded 2-core machine).
 */
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { commandQueueName, eventQueueName, FAULT_POINTS } from "@ecom/events";
import { checkInvariants } from "./checkout-invariants.ts";
import {
  CHECKOUT_WORKERS,
  startCheckoutStack,
  waitFor,
  type CheckoutStack,
  type CheckoutWorker,
  type SeededProduct,
} from "./checkout-support.ts";

const run = inject("testRun");
const ORDERS = Number(process.env["CHECKOUT_CRASH_ORDERS"] ?? 200);
const PRODUCTS = Math.max(8, Math.round(ORDERS / 10));
// At least this many kills, each worker among them, however fast the orders go in.
const MIN_KILLS = Math.max(8, Math.round(ORDERS / 25));
// The queues this stack consumes (search's is not: its jobs stay, unread).
const QUEUES = [
  eventQueueName("orders"),
  eventQueueName("inventory"),
  eventQueueName("notifications"),
  commandQueueName("inventory"),
  commandQueueName("payments"),
  commandQueueName("notifications"),
];

// A seeded generator, so that a failing run can be repeated (CHECKOUT_CRASH_SEED).
const SEED = Number(process.env["CHECKOUT_CRASH_SEED"] ?? Date.now() % 100_000);
let state = SEED;
const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
const between = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));

describe(`checkout saga under random SIGKILLs (${ORDERS} checkouts)`, { timeout: 240_000 + ORDERS * 2_000 }, () => {
  let stack: CheckoutStack;
  const redis = new Redis(run.redisUrl, { maxRetriesPerRequest: 3 });
  beforeAll(async () => {
    stack = await startCheckoutStack(run, { stepTimeoutMs: 30_000 });
  }, 240_000);
  afterAll(async () => {
    await stack?.close();
    redis.disconnect();
  });

  it("leaves every order confirmed-and-paid-once or cancelled-and-undone, and every stock level right", async () => {
    const initial = new Map<string, number>();
    const products: SeededProduct[] = [];
    for (let i = 0; i < PRODUCTS; i++) {
      const onHand = between(15, 45);
      const product = await stack.seedProduct(onHand, between(5, 80) * 100);
      products.push(product);
      initial.set(product.id, onHand);
    }
    const buyers = await Promise.all(Array.from({ length: 20 }, () => stack.seedBuyer()));

    // Chaos: one worker at a time is killed and restarted, at random moments, while the orders go in (and until each
    // worker was killed at least once and MIN_KILLS in all).
    const kills: Record<string, number> = {};
    let placing = true;
    const chaos = (async () => {
      const total = () => Object.values(kills).reduce((a, b) => a + b, 0);
      let round = 0;
      while (placing || total() < MIN_KILLS || CHECKOUT_WORKERS.some((w) => !kills[w])) {
        await new Promise((r) => setTimeout(r, between(300, 2500)));
        // A worker armed with a fault point dies by its own hand: it comes back here.
        for (const name of CHECKOUT_WORKERS) {
          if (!stack.running(name)) {
            kills[`${name} (fault point)`] = (kills[`${name} (fault point)`] ?? 0) + 1;
            await stack.start(name);
          }
        }
        // Every worker in turn, in a random order each time round.
        const victim: CheckoutWorker = round++ < CHECKOUT_WORKERS.length ? CHECKOUT_WORKERS[round - 1]! : pick(CHECKOUT_WORKERS);
        await stack.kill(victim);
        kills[victim] = (kills[victim] ?? 0) + 1;
        await new Promise((r) => setTimeout(r, between(200, 1500)));
        // Now and then the new process is armed to SIGKILL itself at a fault point (mid-relay, after a commit).
        const fault = random() < 0.25 ? pick(FAULT_POINTS) : undefined;
        try {
          await stack.start(victim, fault ? { EVENTS_FAULT_POINT: fault } : {});
        } catch {
          // It killed itself before it was ready: the next start is clean.
          kills[`${victim} (fault point)`] = (kills[`${victim} (fault point)`] ?? 0) + 1;
        }
        if (!stack.running(victim)) await stack.start(victim);
      }
    })();

    const orderIds: string[] = [];
    let next = 0;
    const placer = async () => {
      while (next < ORDERS) {
        next += 1;
        const lines = between(1, 2);
        const chosen = new Set<SeededProduct>();
        while (chosen.size < lines) chosen.add(pick(products));
        const items = [...chosen].map((product) => ({ product, quantity: between(1, 3) }));
        orderIds.push(await stack.place(pick(buyers), items, random() < 0.75 ? "tok_visa" : "tok_chargeDeclined"));
        if (orderIds.length % 50 === 0) process.stdout.write(`[crash] ${orderIds.length}/${ORDERS} orders placed\n`);
        await new Promise((r) => setTimeout(r, between(200, 1400)));
      }
    };
    await Promise.all(Array.from({ length: 4 }, placer));
    placing = false;
    await chaos;
    for (const name of CHECKOUT_WORKERS) if (!stack.running(name)) await stack.start(name);
    process.stdout.write(`[crash] all placed; kills so far: ${JSON.stringify(kills)}; draining\n`);

    // Drain: every order finished, every outbox sent, every consumed queue empty.
    const queues = QUEUES.map((name) => new Queue(name, { connection: redis, prefix: stack.prefix }));
    try {
      let lastReport = 0;
      await waitFor(
        async () => {
          const [pending] = await stack.orders.pool
            .query<{ n: number }>("SELECT count(*)::int AS n FROM orders WHERE status = 'PENDING'")
            .then((r) => r.rows);
          const depth = (await Promise.all(queues.map((q) => q.getJobCounts("waiting", "active", "delayed", "prioritized")))).reduce(
            (n, c) => n + Object.values(c).reduce((a, b) => a + b, 0),
            0,
          );
          if (Date.now() - lastReport > 10_000) {
            lastReport = Date.now();
            process.stdout.write(`[crash] draining: ${pending!.n} orders pending, ${depth} jobs queued\n`);
          }
          return pending!.n === 0 && depth === 0;
        },
        "every order to finish and every queue to drain",
        180_000 + ORDERS * 600,
      );
      // The last replies' outbox rows and notifications may still be on their way: settle until nothing moves.
      await waitFor(async () => (await checkInvariants(stack, initial)).violations.length === 0, "the invariants to hold", 60_000).catch(
        () => {},
      );
      const report = await checkInvariants(stack, initial);
      const deadLetters = (await Promise.all(queues.map((q) => q.getFailedCount()))).reduce((a, b) => a + b, 0);
      process.stdout.write(
        `[crash] seed ${SEED}, kills ${JSON.stringify(kills)}\n[crash] ${JSON.stringify({ ...report, violations: report.violations.length, deadLetters }, null, 1)}\n`,
      );
      expect(report.violations, report.violations.slice(0, 20).join("\n")).toEqual([]);
      expect(report.orders).toBe(ORDERS);
      expect(report.confirmed + report.cancelled).toBe(ORDERS);
      expect(report.confirmed).toBeGreaterThan(0);
      expect(report.cancelled).toBeGreaterThan(0);
      expect(Object.values(kills).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    } finally {
      await Promise.all(queues.map((q) => q.close()));
    }
  });
});
