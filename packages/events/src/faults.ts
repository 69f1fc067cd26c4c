/**
 * Fault injection for crash tests, never for production: a worker started with the test-only environment variable
 * `EVENTS_FAULT_POINT=<point>` kills itself with SIGKILL (no cleanup, no graceful stop: as a power cut or the OOM
 * killer would) the first time it reaches that point. Crash tests use it to stop a process at an exact moment
 * that a signal from outside could only hit by luck.
 */

/** The points where a process can be made to die. */
export const FAULT_POINTS = [
  /** The relay has locked unsent rows and is about to add their jobs to BullMQ. */
  "relay:before-add",
  /** The relay has added the jobs but not yet marked the rows sent (its transaction is still open). */
  "relay:after-add",
  /** A consumer's handler ran and its transaction committed, but the job is not yet acknowledged in BullMQ. */
  "consumer:after-commit",
] as const;

/** A point of {@link FAULT_POINTS}. */
export type FaultPoint = (typeof FAULT_POINTS)[number];

/** Reaches fault points. */
export interface FaultInjector {
  /** Kills the process with SIGKILL if `point` is the armed one. */
  reach(point: FaultPoint): void;
}

/** No faults: what production runs. */
export const noFaults: FaultInjector = { reach: () => {} };

/** A fault injector armed at `point` (none when undefined). */
export function createFaultInjector(point: FaultPoint | undefined, onFire?: (point: FaultPoint) => void): FaultInjector {
  if (!point) return noFaults;
  return {
    reach(reached) {
      if (reached !== point) return;
      onFire?.(point);
      // Synchronous write: the test reads it to know the process died where it was meant to.
      process.stderr.write(`fault injection: SIGKILL at ${point}\n`);
      process.kill(process.pid, "SIGKILL");
    },
  };
}
