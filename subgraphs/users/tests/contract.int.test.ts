/** The users subgraph keeps the federation contract (packages/testing/src/contract.ts). */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { loadSigningKey, serviceKeyring } from "@ecom/auth";
import { demoUsers } from "@ecom/demo-data";
import { createLogger, createMetrics } from "@ecom/observability";
import { compareSubgraphTypes, defineSubgraphContractSuite, seededSubgraph, signedHeaders, TEST_SIGNING_KEYS } from "@ecom/testing";
import { parse } from "graphql";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../src/datasources/prisma.ts";
import { seed } from "../src/seed.ts";
import { createServer } from "../src/server.ts";

const alice = demoUsers[0]!;

defineSubgraphContractSuite({
  name: "users",
  start: seededSubgraph("users", seed, async (url) => {
    const db = createDatabase(url);
    const server = await createServer({
      env: {
        NODE_ENV: "test",
        SIGNING_KEYS: serviceKeyring(TEST_SIGNING_KEYS, "users"),
        JWT_ISSUER: "ecom-users",
        JWT_AUDIENCE: "ecom-gateway",
        JWT_TTL: 3_600_000,
      },
      logger: createLogger({ service: "users", level: "silent" }),
      metrics: createMetrics({ service: "users", defaultMetrics: false }),
      db,
      signingKey: await loadSigningKey(),
    });
    return {
      url: (await server.listen(0, "127.0.0.1")).url,
      [Symbol.asyncDispose]: async () => {
        await server.stop();
        await db.close();
      },
    };
  }),
  entities: [{ typename: "User", key: { id: alice.id }, missingKey: { id: randomUUID() }, fields: "id email name role createdAt" }],
  // A user is visible to themself and ADMINs only: the suite asks as an ADMIN.
  headers: signedHeaders("users", { userId: randomUUID(), role: "ADMIN" }),
});

describe("the contract's schema comparison", () => {
  const file = readFileSync(new URL("../src/schema.graphql", import.meta.url), "utf8");

  it("notices a served SDL that drifted from src/schema.graphql", () => {
    const drifted = file.replace("name: String!", "nickname: String!").replace(/enum Role \{[^}]*\}/, "");
    expect(compareSubgraphTypes(parse(file), parse(drifted))).toEqual([
      "missing field User.name",
      "unexpected field User.nickname",
      "missing type Role",
    ]);
    expect(compareSubgraphTypes(parse(file), parse(file))).toEqual([]);
  });
});
