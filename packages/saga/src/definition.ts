/**
 * What a saga is: a list of steps, each with the command that performs it and (optionally) the command that undoes
 * it, as in Temporal's saga sample (`saga.addCompensation(...)` after each activity). A new saga is a new list; the
 * plumbing (state, replies, deadlines, retries, resumption) is the orchestrator's.
 *
 * Steps never write into another service's database: `invoke` and `compensate` send commands through the owner's
 * transactional outbox (`ctx.send`), in the transaction that records the saga's new state. The participant answers
 * with an event, which {@link SagaDefinition.replies} maps to "step X succeeded / failed / was compensated".
 */
import type { MessageType, PayloadInput, SqlTransaction, Message, PayloadOf } from "@ecom/events";

/** A JSON value (what a step result and a saga input are stored as). */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** What a step's `invoke` / `compensate` gets. */
export interface StepContext<Input, Tx extends SqlTransaction> {
  /** The transaction of the saga's state change: write through it only. */
  tx: Tx;
  sagaId: string;
  input: Input;
  /** Results of the steps that succeeded so far, by step name (e.g. the payment id of a capture). */
  results: Readonly<Record<string, Json | undefined>>;
  /** 1 for the first attempt; compensations count up on each retry. */
  attempt: number;
  /** Why the saga is compensating (compensations only). */
  reason: string | null;
  /** Writes a command to the outbox in `tx`. */
  send<T extends MessageType>(type: T, aggregateId: string, payload: PayloadInput<T>): Promise<void>;
}

/** One step of a saga. */
export interface SagaStep<Input, Tx extends SqlTransaction> {
  /** Unique within the saga, e.g. `reserve-stock`. Replies name it. */
  name: string;
  /** What the step is about, for timelines and operators (e.g. `inventory`). @default name */
  label?: string;
  /** Sends the step's command. Must be idempotent at the participant (an idempotency key in the payload). */
  invoke(ctx: StepContext<Input, Tx>): Promise<void>;
  /**
   * Sends the command that undoes the step; omit it for a step with nothing to undo. Runs after the step
   * succeeded, or timed out (its effect unknown): the participant must accept a compensation of something that
   * never happened (and refuse the step if it arrives later). Retried until its reply says it succeeded.
   */
  compensate?(ctx: StepContext<Input, Tx>): Promise<void>;
  /** How long the step may take before the saga gives up and compensates. @default the definition's stepTimeoutMs */
  timeoutMs?: number;
}

/** A participant's reply, as the orchestrator needs it. */
export type SagaReply =
  | { sagaId: string; step: string; phase: "invoke"; ok: true; result?: Json; status: string; detail?: string | null }
  | { sagaId: string; step: string; phase: "invoke"; ok: false; reason: string; status: string; detail?: string | null }
  | { sagaId: string; step: string; phase: "compensate"; ok: boolean; status: string; detail?: string | null };

/** Maps a reply event to the step it answers (null: not about a saga of this definition). */
export type ReplyMapper<T extends MessageType> = (message: Message<T> & { payload: PayloadOf<T> }) => SagaReply | null;

/** A timeline entry the orchestrator records (see {@link SagaDefinition.record}). */
export interface SagaRecord {
  /** The step's label (or `saga` for the saga's own entries). */
  step: string;
  /** e.g. RESERVED, CAPTURED, DECLINED, RELEASED, TIMED_OUT. */
  status: string;
  detail: string | null;
}

/** A saga definition. */
export interface SagaDefinition<Input, Tx extends SqlTransaction, Replies extends MessageType = MessageType> {
  /** e.g. `checkout`: stored on each instance, a metrics label. */
  name: string;
  steps: ReadonlyArray<SagaStep<Input, Tx>>;
  /** The reply events and what each means. Their types must be routed to the owner's event queue. */
  replies: { [K in Replies]: ReplyMapper<K> };
  /** Default step deadline. @default 30000 */
  stepTimeoutMs?: number;
  /** How long a compensation may take before it is sent again (then doubled, up to maxRetryDelayMs). @default 5000 */
  compensationTimeoutMs?: number;
  /** Longest wait between two attempts of a compensation. @default 60000 */
  maxRetryDelayMs?: number;
  /** Writes a timeline entry in `tx` (every step outcome and every compensation). */
  record?(tx: Tx, sagaId: string, input: Input, entry: SagaRecord): Promise<void>;
  /** Every step succeeded (in the transaction of the last reply). */
  onCompleted(tx: Tx, sagaId: string, input: Input, results: Readonly<Record<string, Json | undefined>>): Promise<void>;
  /** Every compensation succeeded (in the transaction of the last one's reply). */
  onCompensated(tx: Tx, sagaId: string, input: Input, reason: string): Promise<void>;
}

/**
 * Declares a saga (a typed identity function: the checks are the orchestrator's).
 * @throws Error when step names repeat or there is no step.
 */
export function defineSaga<Input, Tx extends SqlTransaction, Replies extends MessageType>(
  definition: SagaDefinition<Input, Tx, Replies>,
): SagaDefinition<Input, Tx, Replies> {
  if (definition.steps.length === 0) throw new Error(`saga ${definition.name} has no steps`);
  const names = definition.steps.map((s) => s.name);
  const repeated = names.filter((n, i) => names.indexOf(n) !== i);
  if (repeated.length > 0) throw new Error(`saga ${definition.name} repeats step names: ${repeated.join(", ")}`);
  return definition;
}
