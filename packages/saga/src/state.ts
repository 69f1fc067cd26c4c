/**
 * The saga state machine, pure: given the persisted state and what happened (a reply, a passed deadline), the new
 * state and the effects to carry out in the same transaction (commands to send, timeline entries, the end).
 * The orchestrator loads and saves the state under a row lock; here there is no I/O, so every path is unit-tested.
 *
 *   RUNNING (step i)  --ok-->        RUNNING (step i+1) ... --ok (last)--> COMPLETED
 *   RUNNING (step i)  --failed-->    COMPENSATING (steps i-1..0 that have a compensation, newest first)
 *   RUNNING (step i)  --deadline-->  COMPENSATING (steps i..0: step i's effect is unknown, so it is compensated too)
 *   COMPENSATING (k)  --ok-->        COMPENSATING (next one down) ... --> COMPENSATED
 *   COMPENSATING (k)  --failed / deadline--> COMPENSATING (k), sent again after a growing delay, until it succeeds
 */
import type { Json, SagaReply } from "./definition.ts";

/** Where a saga is. */
export type SagaStatus = "RUNNING" | "COMPENSATING" | "COMPLETED" | "COMPENSATED";

/** Where one step is. */
export type StepStatus = "PENDING" | "RUNNING" | "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "COMPENSATING" | "COMPENSATED";

/** One step's persisted state. */
export interface StepState {
  name: string;
  status: StepStatus;
  /** Attempts of the invocation (1) or of the compensation in flight (1, 2, ...). */
  attempts: number;
  result?: Json;
  error?: string;
  startedAt?: string;
  finishedAt?: string;
}

/** One line of the compensation log. */
export interface CompensationLogEntry {
  step: string;
  attempt: number;
  at: string;
  outcome: "sent" | "succeeded" | "failed" | "timed-out";
  detail?: string | null;
}

/** A saga instance's persisted state. */
export interface SagaState {
  id: string;
  name: string;
  status: SagaStatus;
  /** The step running (RUNNING) or being compensated (COMPENSATING). */
  current: number;
  steps: StepState[];
  log: CompensationLogEntry[];
  reason: string | null;
  /** Epoch ms; null once finished. */
  deadlineAt: number | null;
  /** Attempts of the action in flight. */
  attempts: number;
}

/** What to do in the transaction of a transition. */
export type Effect =
  | { kind: "invoke"; step: number; attempt: number }
  | { kind: "compensate"; step: number; attempt: number }
  /** A timeline entry: `step` null for the saga's own entries. */
  | { kind: "record"; step: number | null; status: string; detail: string | null }
  | { kind: "completed" }
  | { kind: "compensated"; reason: string };

/** A transition's result. `ignored` replies change nothing (late, duplicate, or for another step). */
export type Transition =
  { outcome: "applied"; state: SagaState; effects: Effect[] } | { outcome: "ignored"; state: SagaState; why: string };

/** The clock and the delays of one definition. */
export interface Timing {
  now: number;
  /** Deadline of step `index`. */
  stepTimeoutMs(index: number): number;
  /** How long compensation attempt `attempt` (1, 2, ...) may take before the next one. */
  compensationDelayMs(attempt: number): number;
  /** Whether step `index` has a compensation. */
  compensable(index: number): boolean;
}

const iso = (ms: number) => new Date(ms).toISOString();
const clone = (state: SagaState): SagaState => ({ ...state, steps: state.steps.map((s) => ({ ...s })), log: [...state.log] });

/** Compensation delay: `base` doubled each attempt, at most `max`. */
export const backoff = (base: number, max: number) => (attempt: number) => Math.min(max, base * 2 ** Math.max(0, attempt - 1));

/** A new saga, running its first step. */
export function startSaga(id: string, name: string, stepNames: readonly string[], timing: Timing): Transition {
  const steps: StepState[] = stepNames.map((n) => ({ name: n, status: "PENDING", attempts: 0 }));
  const state: SagaState = { id, name, status: "RUNNING", current: 0, steps, log: [], reason: null, deadlineAt: null, attempts: 0 };
  const effects: Effect[] = [];
  run(state, 0, timing, effects);
  return { outcome: "applied", state, effects };
}

function run(state: SagaState, index: number, timing: Timing, effects: Effect[]) {
  const step = state.steps[index]!;
  step.status = "RUNNING";
  step.attempts = 1;
  step.startedAt = iso(timing.now);
  state.current = index;
  state.attempts = 1;
  state.deadlineAt = timing.now + timing.stepTimeoutMs(index);
  effects.push({ kind: "invoke", step: index, attempt: 1 });
}

/** Starts (or goes on with) compensations from step `from` down; ends the saga when none is left. */
function compensateFrom(state: SagaState, from: number, timing: Timing, effects: Effect[]) {
  state.status = "COMPENSATING";
  for (let k = from; k >= 0; k--) {
    const step = state.steps[k]!;
    if (!timing.compensable(k) || (step.status !== "SUCCEEDED" && step.status !== "TIMED_OUT")) continue;
    step.status = "COMPENSATING";
    step.attempts = 1;
    state.current = k;
    state.attempts = 1;
    state.deadlineAt = timing.now + timing.compensationDelayMs(1);
    state.log.push({ step: step.name, attempt: 1, at: iso(timing.now), outcome: "sent" });
    effects.push({ kind: "compensate", step: k, attempt: 1 });
    return;
  }
  state.status = "COMPENSATED";
  state.deadlineAt = null;
  state.attempts = 0;
  effects.push({ kind: "compensated", reason: state.reason ?? "compensated" });
}

/** Applies a participant's reply. */
export function applyReply(current: SagaState, reply: SagaReply, timing: Timing): Transition {
  const index = current.steps.findIndex((s) => s.name === reply.step);
  if (index < 0) return { outcome: "ignored", state: current, why: `no step ${reply.step}` };
  const state = clone(current);
  const step = state.steps[index]!;
  const effects: Effect[] = [];
  const detail = reply.detail ?? null;

  if (reply.phase === "invoke") {
    if (state.status !== "RUNNING" || state.current !== index || step.status !== "RUNNING") {
      return {
        outcome: "ignored",
        state: current,
        why: `step ${reply.step} is ${step.status} (saga ${state.status}): a late or repeated reply`,
      };
    }
    step.finishedAt = iso(timing.now);
    effects.push({ kind: "record", step: index, status: reply.status, detail });
    if (reply.ok) {
      step.status = "SUCCEEDED";
      if (reply.result !== undefined) step.result = reply.result;
      if (index + 1 < state.steps.length) run(state, index + 1, timing, effects);
      else {
        state.status = "COMPLETED";
        state.deadlineAt = null;
        state.attempts = 0;
        effects.push({ kind: "completed" });
      }
    } else {
      step.status = "FAILED";
      step.error = reply.reason;
      state.reason = reply.reason;
      compensateFrom(state, index - 1, timing, effects);
    }
    return { outcome: "applied", state, effects };
  }

  if (state.status !== "COMPENSATING" || state.current !== index || step.status !== "COMPENSATING") {
    return { outcome: "ignored", state: current, why: `step ${reply.step} is ${step.status}: a late or repeated compensation reply` };
  }
  if (reply.ok) {
    step.status = "COMPENSATED";
    step.finishedAt = iso(timing.now);
    state.log.push({ step: step.name, attempt: step.attempts, at: iso(timing.now), outcome: "succeeded", detail });
    effects.push({ kind: "record", step: index, status: reply.status, detail });
    compensateFrom(state, index - 1, timing, effects);
  } else {
    // Sent again when the (grown) delay has passed: see applyDeadline.
    state.log.push({ step: step.name, attempt: step.attempts, at: iso(timing.now), outcome: "failed", detail });
    state.deadlineAt = timing.now + timing.compensationDelayMs(step.attempts);
  }
  return { outcome: "applied", state, effects };
}

/** Applies a passed deadline: a stuck step cancels the saga; a stuck compensation is sent again. */
export function applyDeadline(current: SagaState, timing: Timing): Transition {
  if (current.deadlineAt === null || current.deadlineAt > timing.now) return { outcome: "ignored", state: current, why: "not due" };
  const state = clone(current);
  const step = state.steps[state.current]!;
  const effects: Effect[] = [];
  if (state.status === "RUNNING" && step.status === "RUNNING") {
    // The deadline the step was given when it started (a process with other settings may be the one noticing).
    const allowed = step.startedAt ? current.deadlineAt - Date.parse(step.startedAt) : timing.stepTimeoutMs(state.current);
    const seconds = Math.round(allowed / 100) / 10;
    step.status = "TIMED_OUT";
    step.finishedAt = iso(timing.now);
    step.error = `no answer within ${seconds} s`;
    state.reason = `step ${step.name} timed out (no answer within ${seconds} s)`;
    effects.push({ kind: "record", step: state.current, status: "TIMED_OUT", detail: state.reason });
    compensateFrom(state, state.current, timing, effects);
    return { outcome: "applied", state, effects };
  }
  if (state.status === "COMPENSATING" && step.status === "COMPENSATING") {
    const last = state.log.at(-1);
    if (!(last && last.step === step.name && last.attempt === step.attempts && last.outcome === "failed")) {
      state.log.push({ step: step.name, attempt: step.attempts, at: iso(timing.now), outcome: "timed-out" });
    }
    step.attempts += 1;
    state.attempts = step.attempts;
    state.deadlineAt = timing.now + timing.compensationDelayMs(step.attempts);
    state.log.push({ step: step.name, attempt: step.attempts, at: iso(timing.now), outcome: "sent" });
    effects.push({ kind: "compensate", step: state.current, attempt: step.attempts });
    return { outcome: "applied", state, effects };
  }
  return { outcome: "ignored", state: current, why: `nothing waits in a ${state.status} saga` };
}
