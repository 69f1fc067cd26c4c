/**
 * The checkout saga with real processes: the orders, inventory, payments and notifications workers (each its own
 * process over its own test database and a private BullMQ prefix), and orders placed in-process through the orders
 * subgraph's own repository (the same transaction placeOrder runs: the order, its saga and its first command).
 */
import { randomBytes, randomUUID } from "node:crypto";
import path from "node:path";
import { createLogger, createMetrics } from "@ecom/observability";
import {
  createTestDatabase,
  getFreePort,
  ROOT_DIR,
  sql,
  startProcess,
  type RunningProcess,
  type TestDatabase,
  type TestRunInfo,
} from "@ecom/testing";
import { OrdersRepository } from "../src/datasources/orders.ts";
import { createDatabase, type Database } from "../src/datasources/prisma.ts";
import { requestHashOf } from "../src/domain/place-order.ts";
import { createCheckout, startCheckoutOnCreate } from "../src/saga/checkout.ts";

/** The worker processes of the checkout. */
export const CHECKOUT_WORKERS = ["orders", "inventory", "payments", "notifications"] as const;
export type CheckoutWorker = (typeof CHECKOUT_WORKERS)[number];

/** Options of {@link startCheckoutStack}. */
export interface CheckoutStackOptions {
  /** Extra environment of every worker (e.g. shorter deadlines). */
  env?: Record<string, string>;
  /** Step deadline of the sagas placed here. @default 30000 */
  stepTimeoutMs?: number;
  /** Reservation TTL of the sagas placed here. @default 900000 */
  reservationTtlMs?: number;
  /** Which workers to start at once. @default all */
  start?: readonly CheckoutWorker[];
}

/** A product seeded into inventory. */
export interface SeededProduct {
  id: string;
  unitAmount: number;
}

/** The running stack. */
export interface CheckoutStack {
  dbs: Record<CheckoutWorker, TestDatabase>;
  prefix: string;
  orders: Database;
  /** Starts (or restarts) a worker and waits until it is ready. */
  start(name: CheckoutWorker, env?: Record<string, string>): Promise<void>;
  /** SIGKILL (no cleanup), resolving when it is gone. */
  kill(name: CheckoutWorker): Promise<void>;
  running(name: CheckoutWorker): boolean;
  /** The `/metrics` text of a running worker. */
  metrics(name: CheckoutWorker): Promise<string>;
  /** Everything a worker printed (all its lives). */
  output(name: CheckoutWorker): string;
  seedProduct(onHand: number, unitAmount?: number): Promise<SeededProduct>;
  /** A buyer notifications can reach. */
  seedBuyer(): Promise<string>;
  /** Places an order as placeOrder does; resolves with its id. */
  place(
    buyerId: string,
    items: Array<{ product: SeededProduct; quantity: number }>,
    paymentToken: "tok_visa" | "tok_chargeDeclined",
    options?: { stepTimeoutMs?: number; reservationTtlMs?: number },
  ): Promise<string>;
  status(orderId: string): Promise<string>;
  waitForStatus(orderId: string, status: "CONFIRMED" | "CANCELLED", timeoutMs?: number): Promise<void>;
  timeline(orderId: string): Promise<Array<{ step: string; status: string; detail: string | null }>>;
  close(): Promise<void>;
}

/** Polls `check` until it is truthy (a condition, not a sleep), failing after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T | undefined | false | null>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false && value !== null) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function waitReady(proc: RunningProcess, port: number, timeoutMs = 120_000) {
  let exited = false;
  void proc.exited.then(() => (exited = true));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) throw new Error(`${proc.name} exited before it was ready:\n${proc.output().slice(-4000)}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health/ready`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${proc.name} not ready within ${timeoutMs} ms:\n${proc.output().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts the stack over fresh databases of `run`. */
export async function startCheckoutStack(run: TestRunInfo, options: CheckoutStackOptions = {}): Promise<CheckoutStack> {
  const dbs = Object.fromEntries(
    await Promise.all(CHECKOUT_WORKERS.map(async (name) => [name, await createTestDatabase(run, name)] as const)),
  ) as Record<CheckoutWorker, TestDatabase>;
  const prefix = `${run.redisPrefix}co${randomBytes(3).toString("hex")}`;
  const processes = new Map<CheckoutWorker, RunningProcess>();
  const ports = new Map<CheckoutWorker, number>();
  const outputs = new Map<CheckoutWorker, string[]>();
  const stepTimeoutMs = options.stepTimeoutMs ?? 30_000;
  const reservationTtlMs = options.reservationTtlMs ?? 900_000;
  const commonEnv = {
    NODE_ENV: "test",
    LOG_LEVEL: "warn",
    HOST: "127.0.0.1",
    REDIS_URL: run.redisUrl,
    QUEUE_PREFIX: prefix,
    RELAY_POLL_INTERVAL: "200ms",
    EVENTS_BACKOFF: "100ms",
    EVENTS_ATTEMPTS: "12",
    EVENTS_LOCK_DURATION: "5s",
    SAGA_SWEEP_INTERVAL: "500ms",
    CHECKOUT_STEP_TIMEOUT: `${stepTimeoutMs}ms`,
    CHECKOUT_RESERVATION_TTL: `${reservationTtlMs}ms`,
    CHECKOUT_COMPENSATION_TIMEOUT: "2s",
    RESERVATION_SWEEP_INTERVAL: "1s",
  };

  const orders = createDatabase(dbs.orders.url, { applicationName: "checkout-test" });
  const logger = createLogger({ service: "checkout-test", level: "warn" });
  const checkout = createCheckout(
    { stepTimeoutMs, reservationTtlMs, compensationTimeoutMs: 2000 },
    { logger, registry: createMetrics({ service: "checkout-test" }).registry },
  );
  const repo = new OrdersRepository(orders.prisma, startCheckoutOnCreate(checkout));
  // The first step's deadline and the reservation's TTL are set by whoever starts the saga (the first step runs
  // there): a test that wants a stuck saga or an expiring reservation starts it with shorter ones.
  const repoWith = (timings: { stepTimeoutMs?: number; reservationTtlMs?: number }) =>
    new OrdersRepository(
      orders.prisma,
      startCheckoutOnCreate(
        createCheckout(
          {
            stepTimeoutMs: timings.stepTimeoutMs ?? stepTimeoutMs,
            reservationTtlMs: timings.reservationTtlMs ?? reservationTtlMs,
            compensationTimeoutMs: 2000,
          },
          { logger, registry: createMetrics({ service: "checkout-test" }).registry },
        ),
      ),
    );

  const stack: CheckoutStack = {
    dbs,
    prefix,
    orders,
    async start(name, env = {}) {
      const previous = processes.get(name);
      if (previous && previous.child.exitCode === null && previous.child.signalCode === null) await previous.stop(2000);
      const port = await getFreePort();
      const proc = await startProcess({
        name: `${name} worker`,
        command: process.execPath,
        args: ["--import", "tsx", "src/worker.ts"],
        cwd: path.join(ROOT_DIR, "subgraphs", name),
        env: { ...commonEnv, ...options.env, ...env, PORT: String(port), DATABASE_URL: dbs[name].url },
      });
      processes.set(name, proc);
      ports.set(name, port);
      void proc.exited.then(() => {
        const lives = outputs.get(name) ?? [];
        lives.push(proc.output());
        outputs.set(name, lives);
      });
      await waitReady(proc, port);
    },
    async kill(name) {
      const proc = processes.get(name);
      if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
      proc.child.kill("SIGKILL");
      await proc.exited;
    },
    running(name) {
      const proc = processes.get(name);
      return !!proc && proc.child.exitCode === null && proc.child.signalCode === null;
    },
    async metrics(name) {
      return (await fetch(`http://127.0.0.1:${ports.get(name)}/metrics`)).text();
    },
    output(name) {
      const current = processes.get(name);
      return [...(outputs.get(name) ?? []), current && stack.running(name) ? current.output() : ""].join("\n");
    },
    async seedProduct(onHand, unitAmount = 1000) {
      const id = randomUUID();
      await sql(
        dbs.inventory.url,
        "INSERT INTO stock_items (product_id, on_hand, reserved, version, updated_at) VALUES ($1, $2, 0, 0, now())",
        [id, onHand],
      );
      return { id, unitAmount };
    },
    async seedBuyer() {
      const id = randomUUID();
      await sql(
        dbs.notifications.url,
        "INSERT INTO recipients (user_id, email, name, version, updated_at) VALUES ($1, $2, 'Buyer', 1, now())",
        [id, `buyer-${id.slice(0, 8)}@example.com`],
      );
      return id;
    },
    async place(buyerId, items, paymentToken, placeOptions = {}) {
      const priced = items.map((i) => ({
        productId: i.product.id,
        quantity: i.quantity,
        unitAmount: i.product.unitAmount,
        currency: "USD",
      }));
      const idempotencyKey = `key-${randomBytes(8).toString("hex")}`;
      const custom = placeOptions.stepTimeoutMs !== undefined || placeOptions.reservationTtlMs !== undefined;
      const result = await (custom ? repoWith(placeOptions) : repo).create({
        buyerId,
        idempotencyKey,
        requestHash: requestHashOf({ items: priced, paymentToken }),
        paymentToken,
        currency: "USD",
        totalAmount: priced.reduce((n, i) => n + i.quantity * i.unitAmount, 0),
        items: priced,
      });
      if (!result.created) throw new Error("the order was not created");
      return result.order.id;
    },
    async status(orderId) {
      const rows = await sql<{ status: string }>(dbs.orders.url, "SELECT status::text AS status FROM orders WHERE id = $1", [orderId]);
      return rows[0]?.status ?? "MISSING";
    },
    async waitForStatus(orderId, status, timeoutMs = 90_000) {
      await waitFor(
        async () => (await stack.status(orderId)) === status,
        `order ${orderId} to be ${status} (now ${await stack.status(orderId)})`,
        timeoutMs,
      );
    },
    timeline: (orderId) =>
      sql(dbs.orders.url, "SELECT step, status, detail FROM order_events WHERE order_id = $1 ORDER BY at, id", [orderId]),
    async close() {
      await Promise.allSettled([...processes.values()].map((p) => p.stop(3000)));
      await orders.close();
      for (const db of Object.values(dbs)) await db.drop().catch(() => {});
    },
  };
  for (const name of options.start ?? CHECKOUT_WORKERS) await stack.start(name);
  return stack;
}
