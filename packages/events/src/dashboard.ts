/**
 * The queue dashboard (bull-board) for development: every queue of the topology, with its waiting, active,
 * delayed, completed and failed (dead-letter) jobs, each job's data, attempts and errors, and retry buttons.
 * Mounted by `scripts/queue-dashboard.ts`, which `npm start` runs in development only: it can retry and remove jobs,
 * so it is never exposed in production.
 */
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import { Queue } from "bullmq";
import type { Router } from "express";
import type { Redis } from "ioredis";
import { allQueueNames } from "./topology.ts";

/** Options of {@link createQueueDashboard}. */
export interface QueueDashboardOptions {
  connection: Redis;
  prefix: string;
  /**
   * Where the dashboard is mounted.
   * @default "/queues"
   */
  basePath?: string;
  /**
   * The queues shown.
   * @default every queue of the topology
   */
  queues?: readonly string[];
}

/** The dashboard's express router (mount it at `basePath`) and its queues (close them on stop). */
export function createQueueDashboard(options: QueueDashboardOptions): { basePath: string; router: Router; close(): Promise<void> } {
  const basePath = options.basePath ?? "/queues";
  const queues = (options.queues ?? allQueueNames()).map(
    (name) => new Queue(name, { connection: options.connection, prefix: options.prefix }),
  );
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(basePath);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q)),
    serverAdapter,
    options: { uiConfig: { boardTitle: "ecom queues" } },
  });
  return {
    basePath,
    router: serverAdapter.getRouter() as Router,
    close: async () => {
      await Promise.all(queues.map((q) => q.close()));
    },
  };
}
