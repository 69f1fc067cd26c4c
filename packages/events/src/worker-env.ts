/**
 * The environment variables of a worker process (a subgraph's `src/worker.ts`), as a zod shape for the subgraph's
 * `env.ts`: `subgraphEnvSchema("<name>", workerEnvShape("<name>"))`. Only the shape lives here; reading
 * `process.env` stays in each env.ts.
 */
import { booleanFlag, durationMs, port, redisUrl, workerPort, z, type SubgraphName } from "@ecom/config";
import { FAULT_POINTS } from "./faults.ts";

/** The worker variables, with `PORT` defaulting to the worker's port ({@link workerPort}). */
export function workerEnvShape(name: SubgraphName) {
  return {
    /** Health and metrics port of the worker. */
    PORT: port(workerPort(name)),
    REDIS_URL: redisUrl().default("redis://127.0.0.1:6379/0"),
    /** BullMQ key prefix: environments (and test runs) sharing one Redis keep apart by it. */
    QUEUE_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,100}$/, "must be 1 to 100 characters of A-Z, a-z, 0-9, _ . : -")
      .default("ecom"),
    /** Transactions one consumer runs at once (each holds a database connection and applies up to EVENTS_BATCH_SIZE messages). */
    WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(8),
    /** Most messages one consumer transaction applies; a consumer holds WORKER_CONCURRENCY x EVENTS_BATCH_SIZE jobs. */
    EVENTS_BATCH_SIZE: z.coerce.number().int().min(1).max(500).default(16),
    /** Run the outbox relay in this process (turn off to scale consumers without more relays). */
    RELAY_ENABLED: booleanFlag(true),
    RELAY_BATCH_SIZE: z.coerce.number().int().min(1).max(5000).default(200),
    /** Longest wait of the relay between polls, reached when idle (it polls every 20 ms while rows keep coming). */
    RELAY_POLL_INTERVAL: durationMs("500ms"),
    /** Sent outbox rows are deleted after this long. */
    OUTBOX_RETENTION: durationMs("168h"),
    /** Applied message ids are remembered this long (a redelivery after that would apply again). */
    INBOX_RETENTION: durationMs("720h"),
    /** Attempts of a job before it becomes a dead letter. */
    EVENTS_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(8),
    /** First retry delay (exponential backoff: doubled each attempt). */
    EVENTS_BACKOFF: durationMs("1s"),
    /** A job in hand is redelivered this long after its worker died (the lock it stops renewing lapses). */
    EVENTS_LOCK_DURATION: durationMs("30s"),
    /** TEST ONLY: SIGKILL this process at a fault point (see packages/events/src/faults.ts). Never set it in production. */
    EVENTS_FAULT_POINT: z.enum(FAULT_POINTS).optional(),
  };
}

/** A parsed worker environment (what {@link workerEnvShape} yields, plus the subgraph variables used here). */
export interface WorkerEnv {
  NODE_ENV: string;
  HOST: string;
  PORT: number;
  REDIS_URL: string;
  QUEUE_PREFIX: string;
  WORKER_CONCURRENCY: number;
  EVENTS_BATCH_SIZE: number;
  RELAY_ENABLED: boolean;
  RELAY_BATCH_SIZE: number;
  RELAY_POLL_INTERVAL: number;
  OUTBOX_RETENTION: number;
  INBOX_RETENTION: number;
  EVENTS_ATTEMPTS: number;
  EVENTS_BACKOFF: number;
  EVENTS_LOCK_DURATION: number;
  EVENTS_FAULT_POINT?: (typeof FAULT_POINTS)[number] | undefined;
}
