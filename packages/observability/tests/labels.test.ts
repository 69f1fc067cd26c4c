import { ApolloServer } from "@apollo/server";
import { describe, expect, it } from "vitest";
import { createBoundedLabel, createLogger, createMetrics, createObservabilityPlugin, OTHER_LABEL } from "@ecom/observability";

describe("bounded label values", () => {
  it("keeps the first values as they are and folds every later one into __other__", () => {
    const label = createBoundedLabel({ max: 2 });
    expect(["A", "B", "A", "C", "B", "D"].map(label)).toEqual(["A", "B", "A", OTHER_LABEL, "B", OTHER_LABEL]);
  });

  it("always keeps known values, even once the bound is reached", () => {
    const label = createBoundedLabel({ max: 1, known: ["Me", "Products"] });
    expect(["X", "Y", "Products", "Me"].map(label)).toEqual(["X", OTHER_LABEL, "Products", "Me"]);
  });

  it("folds values that are not GraphQL names of at most 64 characters", () => {
    const label = createBoundedLabel();
    expect(["<script>", "a\u202Eb", "x".repeat(65), "9lives", "Fine_1"].map(label)).toEqual([
      OTHER_LABEL,
      OTHER_LABEL,
      OTHER_LABEL,
      OTHER_LABEL,
      "Fine_1",
    ]);
  });
});

describe("the observability plugin's operation_name label", () => {
  it("stays bounded whatever names clients send", async () => {
    const metrics = createMetrics({ service: "labels-unit", defaultMetrics: false });
    const server = new ApolloServer({
      typeDefs: "type Query { a: Int }",
      resolvers: { Query: { a: () => 1 } },
      plugins: [
        createObservabilityPlugin({
          logger: createLogger({ service: "t", level: "silent" }),
          metrics,
          maxOperationNames: 5,
          knownOperationNames: ["Known"],
        }),
      ],
    });
    await server.start();
    for (let i = 0; i < 50; i++) await server.executeOperation({ query: `query Op${i} { a }` });
    await server.executeOperation({ query: "query Known { a }" });
    await server.executeOperation({ query: "{ a }" });
    await server.executeOperation({ query: "query A { a } query B { a }", operationName: "Nope" });
    await server.stop();
    const values = new Set(
      (await metrics.graphqlOperationDuration.get()).values.map((v) => v.labels["operation_name"]).filter((v) => v !== undefined),
    );
    expect([...values].sort()).toEqual(["Known", "Op0", "Op1", "Op2", "Op3", "Op4", "__other__", "__unresolved__", "anonymous"].sort());
  });
});
