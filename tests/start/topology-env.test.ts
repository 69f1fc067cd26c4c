import { describe, expect, it } from "vitest";
import { ROOT_DIR } from "@ecom/testing";
import { deployables } from "../../scripts/topology.ts";

describe("npm start's deployables", () => {
  it("point orders (subgraph and worker) at the products subgraph of the same START_BASE_PORT", () => {
    for (const base of [4000, 24000]) {
      const all = deployables(ROOT_DIR, base);
      const products = all.find((d) => d.name === "products")!;
      const orders = all.filter((d) => d.name === "orders" || d.name === "orders-worker");
      expect(orders.length).toBeGreaterThan(0);
      for (const d of orders) expect(d.env["PRODUCTS_URL"]).toBe(`http://127.0.0.1:${products.port}/graphql`);
      expect(products.port).toBe(base + 2);
    }
  });
});
