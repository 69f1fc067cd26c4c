import { describe, expect, it } from "vitest";
import { parseEnv, shutdownEnv, z } from "@ecom/config";
import { FORCED_EXIT_MARGIN_MS, shutdownTimings } from "../src/shutdown.ts";

describe("shutdownTimings", () => {
  it("reads SHUTDOWN_DELAY and DRAIN_TIMEOUT and puts the forced exit after both", () => {
    const env = parseEnv("t", z.object(shutdownEnv), { SHUTDOWN_DELAY: "2s", DRAIN_TIMEOUT: "15s" });
    expect(shutdownTimings(env)).toEqual({ shutdownDelayMs: 2000, drainTimeoutMs: 15_000, forcedExitMs: 17_000 + FORCED_EXIT_MARGIN_MS });
  });

  it("defaults to no delay and a 10 s drain, with the forced exit still later than the drain", () => {
    const timings = shutdownTimings(parseEnv("t", z.object(shutdownEnv), {}));
    expect(timings).toMatchObject({ shutdownDelayMs: 0, drainTimeoutMs: 10_000 });
    expect(timings.forcedExitMs).toBeGreaterThan(timings.shutdownDelayMs + timings.drainTimeoutMs);
  });
});
