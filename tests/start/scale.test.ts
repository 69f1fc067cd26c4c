import { describe, expect, it } from "vitest";
import { ROOT_DIR } from "@ecom/testing";
import { deployables, parseScaleArgs, withScale } from "../../scripts/topology.ts";

const names = ["users", "products", "search"];

describe("npm start -- --scale", () => {
  it("reads name=count options, repeated or comma-separated", () => {
    expect(parseScaleArgs(["--scale", "products=2"], names)).toEqual({ products: 2 });
    expect(parseScaleArgs(["--scale=products=3,search=2", "--other"], names)).toEqual({ products: 3, search: 2 });
    expect(parseScaleArgs([], names)).toEqual({});
  });

  it("refuses an unknown subgraph, a bad count or a malformed option, naming the fix", () => {
    expect(() => parseScaleArgs(["--scale", "prodcts=2"], names)).toThrow('no subgraph "prodcts" (subgraphs: users, products, search)');
    expect(() => parseScaleArgs(["--scale", "products=0"], names)).toThrow("the count must be 1 to 9");
    expect(() => parseScaleArgs(["--scale", "products"], names)).toThrow("use name=count");
    expect(() => parseScaleArgs(["--scale"], names)).toThrow("--scale needs name=count");
  });

  it("adds instances on ports 1000 apart, clear of the workers' ports, and switches every subgraph and the gateway to registry mode", () => {
    const all = deployables(ROOT_DIR, 4000);
    const scaled = withScale(all, { products: 3 });
    const products = scaled.filter((d) => d.kind === "subgraph" && d.dir === all.find((x) => x.name === "products")!.dir);
    expect(products.map((d) => [d.name, d.port])).toEqual([
      ["products", 4002],
      ["products-2", 5002],
      ["products-3", 6002],
    ]);
    for (const d of scaled.filter((x) => x.kind === "subgraph" || x.kind === "gateway")) expect(d.env["DISCOVERY_MODE"]).toBe("registry");
    expect(new Set(scaled.map((d) => d.port)).size).toBe(scaled.length);
  });

  it("changes nothing without a scale above 1", () => {
    const all = deployables(ROOT_DIR, 4000);
    expect(withScale(all, { products: 1 })).toEqual(all);
  });
});
