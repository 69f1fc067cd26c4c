/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /**
   * Give up after this long.
   * @default 15000
   */
  timeoutMs?: number;
  /**
   * Pause between two probes.
   * @default 50
   */
  intervalMs?: number;
  /**
   * Appended to the timeout error: what shows why (a process's output, counters).
   * @default none
   */
  diagnostics?: () => string;
}

/** What {@link waitFor} resolves with: the probe's answer and how long the wait took. */
export interface Waited<T> {
  value: T;
  ms: number;
}

/**
 * Probes `probe` until it answers something other than `false` or `undefined` (a condition, not a sleep), then
 * resolves with that answer and the milliseconds it took; fails naming `what` after `timeoutMs`.
 *
 * @example await waitFor("the reload", async () => (await version()) === 2, { diagnostics: gateway.output })
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<Waited<Exclude<T, false | undefined>>> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const startedAt = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== false && value !== undefined) return { value: value as Exclude<T, false | undefined>, ms: Date.now() - startedAt };
    if (Date.now() - startedAt > timeoutMs) {
      const details = options.diagnostics?.();
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${details ? `\n${details}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 50));
  }
}
