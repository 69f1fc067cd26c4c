/**
 * The envelope every message travels in (the BullMQ job's data): identity, stream position, time and the ids that
 * tie it to the request and the message that caused it. Consumers never trust a job's data: {@link parseMessage}
 * checks the envelope and then the payload against the catalogue.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { z } from "@ecom/config";
import { catalogue, isMessageType, type MessageType, type PayloadOf } from "./catalogue.ts";

/** A message as it travels: the envelope and its payload. */
export interface Message<T extends MessageType = MessageType> {
  /** Unique id of the message: the BullMQ job id and the consumers' idempotency key. */
  id: string;
  type: T;
  /** e.g. `product`. */
  aggregateType: string;
  /** e.g. the product id. */
  aggregateId: string;
  /** Position in the aggregate's stream: 1 for its first message, then 2, 3... (assigned by the outbox). */
  aggregateVersion: number;
  /** ISO-8601: the time of the transaction that made the change (Postgres `now()` when the row was written). */
  occurredAt: string;
  /** The client request (or process) this message descends from; the same along a whole chain of messages. */
  correlationId: string;
  /** The id of the message whose handling produced this one; null when a request or a job produced it. */
  causationId: string | null;
  /** The service that wrote it. */
  producer: string;
  payload: PayloadOf<T>;
}

/** The envelope's own rules (the payload is checked against the catalogue separately). */
export const envelopeSchema = z.object({
  id: z.uuid(),
  type: z.string().min(1).max(100),
  aggregateType: z.string().min(1).max(100),
  aggregateId: z.string().min(1).max(200),
  aggregateVersion: z.number().int().min(1),
  occurredAt: z.iso.datetime({ offset: true }),
  correlationId: z.string().min(1).max(200),
  causationId: z.string().min(1).max(200).nullable(),
  producer: z.string().min(1).max(100),
  payload: z.unknown(),
});

/** What {@link parseMessage} found. */
export type ParseResult = { ok: true; message: Message } | { ok: false; reason: string };

const describeIssues = (error: z.ZodError, root: string) =>
  error.issues.map((issue) => `${[root, ...issue.path.map(String)].filter(Boolean).join(".") || "(root)"}: ${issue.message}`).join("; ");

/**
 * Validates untrusted job data as a message: the envelope, a known type, and the payload against the type's
 * schema (with its defaults and transforms applied). Never throws.
 */
export function parseMessage(data: unknown): ParseResult {
  const envelope = envelopeSchema.safeParse(data);
  if (!envelope.success) return { ok: false, reason: `invalid envelope: ${describeIssues(envelope.error, "")}` };
  const { type } = envelope.data;
  if (!isMessageType(type)) return { ok: false, reason: `unknown message type "${type}" (not in the catalogue)` };
  const payload = catalogue[type].payload.safeParse(envelope.data.payload);
  if (!payload.success) return { ok: false, reason: `invalid ${type} payload: ${describeIssues(payload.error, "payload")}` };
  return { ok: true, message: { ...envelope.data, type, id: envelope.data.id.toLowerCase(), payload: payload.data } as Message };
}

const handling = new AsyncLocalStorage<Message>();

/** The message being handled right now (inside a consumer's handler), if any. */
export function currentMessage(): Message | undefined {
  return handling.getStore();
}

/**
 * Runs `fn` as the handling of `message`: messages the outbox writes meanwhile inherit its correlation id and name
 * it as their cause.
 */
export function runWithMessage<T>(message: Message, fn: () => T): T {
  return handling.run(message, fn);
}
