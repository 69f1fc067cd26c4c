import http from "node:http";
import { describe, expect, it } from "vitest";
import { createHttpLifecycle } from "@ecom/service";

describe("createHttpLifecycle", () => {
  it("listens on a free port, names localhost for the wildcard host, and refuses a taken port", async () => {
    const apollo = { stop: async () => {} };
    const first = createHttpLifecycle({ httpServer: http.createServer(), apollo });
    const { url, port } = await first.listen(0);
    expect(url).toBe(`http://localhost:${port}/graphql`);
    const second = createHttpLifecycle({ httpServer: http.createServer(), apollo });
    await expect(second.listen(port, "0.0.0.0")).rejects.toMatchObject({ code: "EADDRINUSE" });
    await first.stop();
  });

  it("stops once, in order: shutting down at once, Apollo, the listener, then onStop", async () => {
    const steps: string[] = [];
    const httpServer = http.createServer();
    const lifecycle = createHttpLifecycle({
      httpServer,
      apollo: { stop: async () => void steps.push(`apollo (shutting down: ${lifecycle.isShuttingDown()})`) },
      onStop: async () => void steps.push(`onStop (listening: ${httpServer.listening})`),
    });
    await lifecycle.listen(0, "127.0.0.1");
    expect(lifecycle.isShuttingDown()).toBe(false);
    const stop = lifecycle.stop();
    expect(lifecycle.stop()).toBe(stop);
    await stop;
    expect(steps).toEqual(["apollo (shutting down: true)", "onStop (listening: false)"]);
  });
});
