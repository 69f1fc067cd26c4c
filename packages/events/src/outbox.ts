/**
 * The transactional outbox (本地消息表), write side: a message is a row written by the same database transaction
 * as the state change it announces, so either both commit or neither does. The relay (relay.ts) sends committed
 * rows to BullMQ afterwards; nothing is ever published from inside a request.
 *
 * Written by hand: the one outbox library for Prisma on the registry needs Prisma 7, and the pg-based ones write on
 * their own connection, outside the Prisma transaction that holds the state change.
 */
import { randomUUID } from "node:crypto";
import { currentRequestContext } from "@ecom/observability";
import { catalogue, isMessageType, type MessageType, type PayloadInput } from "./catalogue.ts";
import { currentMessage, type Message } from "./envelope.ts";
import { queuesFor } from "./topology.ts";

/**
 * What the outbox needs of a transaction: Prisma's interactive transaction client (`tx` in
 * `prisma.$transaction(async (tx) => ...)`) has it. Values are bound as parameters, never spliced into the SQL.
 */
export interface SqlTransaction {
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): PromiseLike<T>;
  $executeRawUnsafe(query: string, ...values: unknown[]): PromiseLike<number>;
}

/** A message to write. */
export interface OutgoingMessage<T extends MessageType = MessageType> {
  type: T;
  /** The id of the aggregate the message is about (a product id for `product.*` and `stock.*`...). */
  aggregateId: string;
  payload: PayloadInput<T>;
  /** Defaults to the message being handled, else the current request's, else a new id. */
  correlationId?: string;
  /** Defaults to the id of the message being handled (null outside a handler). */
  causationId?: string | null;
  /** Defaults to a random UUID. A caller with a natural key (a saga step) passes a deterministic one. */
  id?: string;
}

/** Thrown by {@link Outbox.write} for a message that does not match the catalogue: a bug in the producer. */
export class InvalidMessageError extends Error {
  readonly brand = "InvalidMessageError" as const;
  constructor(
    readonly type: string,
    readonly problems: readonly string[],
  ) {
    super(`Invalid ${type} message: ${problems.join("; ")}`);
  }
}

/** True when `error` is an {@link InvalidMessageError}. */
export const isInvalidMessageError = (error: unknown): error is InvalidMessageError =>
  (error as { brand?: unknown } | null)?.brand === "InvalidMessageError";

/** The write side of a service's outbox. */
export interface Outbox {
  /** The producing service (stored in every envelope). */
  readonly producer: string;
  /**
   * Writes `message` in the transaction `tx` and returns its envelope. Call it after the state change in the same
   * transaction. The aggregate's next version is taken under a row lock of its stream, so concurrent writers of one
   * aggregate are serialized and their rows commit in version order.
   * @throws InvalidMessageError when the payload does not match the catalogue (nothing is written; roll back).
   */
  write<T extends MessageType>(tx: SqlTransaction, message: OutgoingMessage<T>): Promise<Message<T>>;
}

// One statement: bump the aggregate's stream version (row lock until commit) and insert the row with it. No NOTIFY:
// it would serialize the commits of every writer (see relay.ts, "Latency"); the relay polls.
const INSERT_SQL = `
WITH stream AS (
  INSERT INTO outbox_streams AS s (aggregate_type, aggregate_id, version) VALUES ($1, $2, 1)
  ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE SET version = s.version + 1
  RETURNING version
)
INSERT INTO outbox (id, type, queues, aggregate_type, aggregate_id, aggregate_version, occurred_at, correlation_id, causation_id, payload)
SELECT $3::uuid, $4, $5::text[], $1, $2, stream.version, now(), $6, $7, $8::jsonb
FROM stream
RETURNING aggregate_version AS "version", to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "occurredAt"`;

/** The outbox of the service `producer` (e.g. `products`). */
export function createOutbox(options: { producer: string }): Outbox {
  const { producer } = options;
  return {
    producer,
    async write<T extends MessageType>(tx: SqlTransaction, message: OutgoingMessage<T>): Promise<Message<T>> {
      if (!isMessageType(message.type)) throw new InvalidMessageError(String(message.type), ["not a type of the catalogue"]);
      const definition = catalogue[message.type];
      const parsed = definition.payload.safeParse(message.payload);
      if (!parsed.success) {
        throw new InvalidMessageError(
          message.type,
          parsed.error.issues.map((i) => `${["payload", ...i.path.map(String)].join(".")}: ${i.message}`),
        );
      }
      const cause = currentMessage();
      const id = (message.id ?? randomUUID()).toLowerCase();
      const correlationId = message.correlationId ?? cause?.correlationId ?? currentRequestContext()?.correlationId ?? id;
      const causationId = message.causationId === undefined ? (cause?.id ?? null) : message.causationId;
      const { aggregateId } = message;
      const rows = await tx.$queryRawUnsafe<Array<{ version: number; occurredAt: string }>>(
        INSERT_SQL,
        definition.aggregate,
        aggregateId,
        id,
        message.type,
        queuesFor(message.type),
        correlationId,
        causationId,
        JSON.stringify(parsed.data),
      );
      const row = rows[0];
      if (!row) throw new Error("the outbox insert returned no row");
      return {
        id,
        type: message.type,
        aggregateType: definition.aggregate,
        aggregateId,
        aggregateVersion: row.version,
        occurredAt: row.occurredAt,
        correlationId,
        causationId,
        producer,
        payload: parsed.data as Message<T>["payload"],
      };
    },
  };
}
