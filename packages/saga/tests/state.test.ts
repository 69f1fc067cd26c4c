import { describe, expect, it } from "vitest";
import { applyDeadline, applyReply, backoff, startSaga, type SagaState, type Timing, type Transition } from "../src/state.ts";

const STEPS = ["reserve", "charge", "confirm"];
const timingAt = (now: number): Timing => ({
  now,
  stepTimeoutMs: () => 1000,
  compensationDelayMs: backoff(100, 400),
  compensable: (i) => i < 2,
});
const applied = (t: Transition) => {
  if (t.outcome !== "applied") throw new Error(`expected applied, got ignored: ${t.why}`);
  return t;
};
const ok = (step: string, status = "OK") => ({ sagaId: "s", step, phase: "invoke" as const, ok: true as const, status });
const failed = (step: string, reason: string) => ({
  sagaId: "s",
  step,
  phase: "invoke" as const,
  ok: false as const,
  reason,
  status: "FAILED",
});
const undone = (step: string, isOk = true) => ({ sagaId: "s", step, phase: "compensate" as const, ok: isOk, status: "UNDONE" });

function started(): SagaState {
  return applied(startSaga("s", "checkout", STEPS, timingAt(0))).state;
}

describe("saga state machine", () => {
  it("runs the steps in order and completes after the last one", () => {
    const start = applied(startSaga("s", "checkout", STEPS, timingAt(0)));
    expect(start.effects).toEqual([{ kind: "invoke", step: 0, attempt: 1 }]);
    expect(start.state.deadlineAt).toBe(1000);
    const second = applied(applyReply(start.state, { ...ok("reserve"), result: { until: 5 } }, timingAt(10)));
    expect(second.effects).toEqual([
      { kind: "record", step: 0, status: "OK", detail: null },
      { kind: "invoke", step: 1, attempt: 1 },
    ]);
    expect(second.state.steps[0]).toMatchObject({ status: "SUCCEEDED", result: { until: 5 } });
    const third = applied(applyReply(second.state, ok("charge"), timingAt(20)));
    const done = applied(applyReply(third.state, ok("confirm"), timingAt(30)));
    expect(done.state.status).toBe("COMPLETED");
    expect(done.state.deadlineAt).toBeNull();
    expect(done.effects.at(-1)).toEqual({ kind: "completed" });
  });

  it("compensates the earlier steps, newest first, when a step fails (the failed step holds nothing)", () => {
    let state = applied(applyReply(started(), ok("reserve"), timingAt(1))).state;
    const decline = applied(applyReply(state, failed("charge", "payment declined"), timingAt(2)));
    expect(decline.state.status).toBe("COMPENSATING");
    expect(decline.state.reason).toBe("payment declined");
    expect(decline.effects).toEqual([
      { kind: "record", step: 1, status: "FAILED", detail: null },
      { kind: "compensate", step: 0, attempt: 1 },
    ]);
    state = applied(applyReply(decline.state, undone("reserve"), timingAt(3))).state;
    expect(state.status).toBe("COMPENSATED");
    expect(state.log.map((l) => [l.step, l.outcome])).toEqual([
      ["reserve", "sent"],
      ["reserve", "succeeded"],
    ]);
  });

  it("ends compensated at once when the first step fails", () => {
    const t = applied(applyReply(started(), failed("reserve", "out of stock"), timingAt(1)));
    expect(t.state.status).toBe("COMPENSATED");
    expect(t.effects.at(-1)).toEqual({ kind: "compensated", reason: "out of stock" });
  });

  it("cancels a stuck step at its deadline and compensates that step too (its effect is unknown)", () => {
    const state = applied(applyReply(started(), ok("reserve"), timingAt(1))).state;
    expect(applyDeadline(state, timingAt(500)).outcome).toBe("ignored");
    const timedOut = applied(applyDeadline(state, timingAt(1001)));
    expect(timedOut.state.steps[1]).toMatchObject({ status: "COMPENSATING", error: "no answer within 1 s" });
    expect(timedOut.state.reason).toBe("step charge timed out (no answer within 1 s)");
    expect(timedOut.effects).toEqual([
      { kind: "record", step: 1, status: "TIMED_OUT", detail: "step charge timed out (no answer within 1 s)" },
      { kind: "compensate", step: 1, attempt: 1 },
    ]);
    const next = applied(applyReply(timedOut.state, undone("charge"), timingAt(1002)));
    expect(next.effects.at(-1)).toEqual({ kind: "compensate", step: 0, attempt: 1 });
  });

  it("retries a compensation until it succeeds, with a growing delay", () => {
    let state = applied(applyReply(started(), failed("reserve", "x"), timingAt(0))).state;
    expect(state.status).toBe("COMPENSATED");
    state = applied(
      applyReply(applied(applyReply(started(), ok("reserve"), timingAt(0))).state, failed("charge", "declined"), timingAt(0)),
    ).state;
    expect(state.deadlineAt).toBe(100);
    const failedOnce = applied(applyReply(state, undone("reserve", false), timingAt(50)));
    expect(failedOnce.effects).toEqual([]);
    expect(failedOnce.state.deadlineAt).toBe(150);
    const retry = applied(applyDeadline(failedOnce.state, timingAt(150)));
    expect(retry.effects).toEqual([{ kind: "compensate", step: 0, attempt: 2 }]);
    expect(retry.state.deadlineAt).toBe(350);
    const retry3 = applied(applyDeadline(retry.state, timingAt(350)));
    expect(retry3.effects).toEqual([{ kind: "compensate", step: 0, attempt: 3 }]);
    expect(retry3.state.deadlineAt).toBe(750);
    const retry4 = applied(applyDeadline(retry3.state, timingAt(750)));
    expect(retry4.state.deadlineAt).toBe(1150); // capped at 400
    const end = applied(applyReply(retry4.state, undone("reserve"), timingAt(800)));
    expect(end.state.status).toBe("COMPENSATED");
    expect(end.state.log.map((l) => `${l.attempt}:${l.outcome}`)).toEqual([
      "1:sent",
      "1:failed",
      "2:sent",
      "2:timed-out",
      "3:sent",
      "3:timed-out",
      "4:sent",
      "4:succeeded",
    ]);
  });

  it("ignores late, repeated and unknown replies", () => {
    const state = applied(applyReply(started(), ok("reserve"), timingAt(1))).state;
    expect(applyReply(state, ok("reserve"), timingAt(2)).outcome).toBe("ignored");
    expect(applyReply(state, ok("confirm"), timingAt(2)).outcome).toBe("ignored");
    expect(applyReply(state, undone("reserve"), timingAt(2)).outcome).toBe("ignored");
    expect(applyReply(state, ok("nope"), timingAt(2)).outcome).toBe("ignored");
    const cancelled = applied(applyDeadline(state, timingAt(5000))).state;
    // The charge answers after its deadline: the saga is compensating it already.
    expect(applyReply(cancelled, ok("charge"), timingAt(5001)).outcome).toBe("ignored");
  });

  it("skips steps without a compensation", () => {
    let state = started();
    state = applied(applyReply(state, ok("reserve"), timingAt(1))).state;
    state = applied(applyReply(state, ok("charge"), timingAt(2))).state;
    const t = applied(applyReply(state, failed("confirm", "expired"), timingAt(3)));
    expect(t.effects.at(-1)).toEqual({ kind: "compensate", step: 1, attempt: 1 });
  });
});
