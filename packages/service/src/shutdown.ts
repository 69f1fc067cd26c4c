/**
 * Margin the forced-exit timer keeps past `SHUTDOWN_DELAY + DRAIN_TIMEOUT`: time to close pools and flush logs
 * after the drain. Kubernetes' grace period must outlast the preStop pause plus all of it (k8s:check checks).
 */
export const FORCED_EXIT_MARGIN_MS = 5_000;

/** How one process stops: derived from `SHUTDOWN_DELAY` and `DRAIN_TIMEOUT` (`shutdownEnv` of @ecom/config). */
export interface ShutdownTimings {
  /** Readiness fails and the server keeps serving this long before the listener closes. */
  shutdownDelayMs: number;
  /** In-flight requests (and jobs) may take this long to finish; then their connections are destroyed. */
  drainTimeoutMs: number;
  /** `runUntilSignal`'s forced exit: always longer than the delay plus the drain. */
  forcedExitMs: number;
}

/** The {@link ShutdownTimings} of an env parsed with `shutdownEnv` (defaults 0 s delay, 10 s drain). */
export function shutdownTimings(env: { SHUTDOWN_DELAY?: number; DRAIN_TIMEOUT?: number }): ShutdownTimings {
  const shutdownDelayMs = env.SHUTDOWN_DELAY ?? 0;
  const drainTimeoutMs = env.DRAIN_TIMEOUT ?? 10_000;
  return { shutdownDelayMs, drainTimeoutMs, forcedExitMs: shutdownDelayMs + drainTimeoutMs + FORCED_EXIT_MARGIN_MS };
}
