import { SUBGRAPH_NAMES, subgraphUrlVariable } from "@ecom/config";
import { rejectionOf, unreachableSubgraphs, waitFor } from "@ecom/testing";
import { describe, expect, it } from "vitest";

class CodedError extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}
const isCodedError = (error: unknown): error is CodedError => error instanceof CodedError;

describe("waitFor", () => {
  it("resolves with the first answer that is neither false nor undefined, 0 and empty strings included", async () => {
    const answers: unknown[] = [undefined, false, 0];
    let probes = 0;
    const waited = await waitFor("a zero", () => answers[probes++], { intervalMs: 1 });
    expect(waited.value).toBe(0);
    expect(probes).toBe(3);
    expect(waited.ms).toBeGreaterThanOrEqual(0);
  });

  it("fails naming what it waited for, with the diagnostics", async () => {
    await expect(
      waitFor("the impossible", () => false, { timeoutMs: 20, intervalMs: 1, diagnostics: () => "last seen: 41" }),
    ).rejects.toThrow(/^timed out after 20 ms waiting for the impossible\nlast seen: 41$/);
  });
});

describe("rejectionOf", () => {
  it("resolves with the error the guard recognizes", async () => {
    const error = await rejectionOf(Promise.reject(new CodedError("NOT_FOUND")), isCodedError);
    expect(error.code).toBe("NOT_FOUND");
  });

  it("fails when the promise resolves, and rethrows an error the guard does not recognize", async () => {
    await expect(rejectionOf(Promise.resolve("fine"), isCodedError)).rejects.toThrow("expected the request to fail");
    await expect(rejectionOf(Promise.reject(new TypeError("boom")), isCodedError)).rejects.toThrow(TypeError);
  });
});

describe("unreachableSubgraphs", () => {
  it("points every subgraph but the running ones at a loopback port", async () => {
    const env = await unreachableSubgraphs(["users", "orders"]);
    const expected = SUBGRAPH_NAMES.filter((n) => n !== "users" && n !== "orders").map(subgraphUrlVariable);
    expect(Object.keys(env).sort()).toEqual([...expected].sort());
    for (const url of Object.values(env)) expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/graphql$/);
  });
});
