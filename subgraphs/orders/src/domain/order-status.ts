/**
 * The order's state machine. The checkout saga (a later issue) drives it: inventory reserved and payment captured
 * confirm the order, a failed step cancels it. Pure: the repository applies the result in one transaction.
 *
 *   PENDING --confirm--> CONFIRMED
 *   PENDING --cancel---> CANCELLED
 */

/** Mirrors the `OrderStatus` enum of the schema and the database. */
export type OrderStatus = "PENDING" | "CONFIRMED" | "CANCELLED";

/** What the saga asks of an order. */
export type OrderTransition = { type: "CONFIRM"; detail?: string } | { type: "CANCEL"; reason: string };

/** A timeline entry as the domain writes it (the `at` is set by whoever applies it). */
export interface TimelineEntry {
  step: string;
  status: string;
  detail: string | null;
}

/** What applying a transition does. */
export type TransitionOutcome =
  | { kind: "changed"; from: OrderStatus; to: OrderStatus; entry: TimelineEntry }
  /** The order is already where the transition leads: a redelivered saga message, nothing to write. */
  | { kind: "unchanged"; status: OrderStatus };

/** Thrown by {@link applyTransition} for a transition the state machine does not allow. */
export class InvalidTransitionError extends Error {
  readonly brand = "InvalidTransitionError" as const;
  constructor(
    readonly from: OrderStatus,
    readonly transition: OrderTransition["type"],
  ) {
    super(`An order that is ${from} cannot ${transition.toLowerCase()}.`);
  }
}

/** True when `error` is an {@link InvalidTransitionError}. */
export const isInvalidTransitionError = (error: unknown): error is InvalidTransitionError =>
  (error as { brand?: unknown } | null)?.brand === "InvalidTransitionError";

function targetOf(transition: OrderTransition): OrderStatus {
  switch (transition.type) {
    case "CONFIRM":
      return "CONFIRMED";
    case "CANCEL":
      return "CANCELLED";
    default: {
      const never: never = transition;
      throw new Error(`Unknown transition ${JSON.stringify(never)}`);
    }
  }
}

/**
 * The outcome of `transition` on an order in state `order.status`: the new status and its timeline entry
 * (`step: "order"`), or "unchanged" when the order is already in the target state.
 * @throws InvalidTransitionError from a final state to another (CONFIRMED -> CANCELLED, CANCELLED -> CONFIRMED).
 */
export function applyTransition(order: { status: OrderStatus }, transition: OrderTransition): TransitionOutcome {
  const to = targetOf(transition);
  if (order.status === to) return { kind: "unchanged", status: to };
  if (order.status !== "PENDING") throw new InvalidTransitionError(order.status, transition.type);
  const detail = transition.type === "CANCEL" ? transition.reason : (transition.detail ?? null);
  return { kind: "changed", from: order.status, to, entry: { step: "order", status: to, detail } };
}
