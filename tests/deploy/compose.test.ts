/**
 * docker-compose.yml, checked statically: the compose-spec JSON schema (from the dclint package) for keys and
 * types, then the cross-references Compose only discovers at `up` time.
 */
import { describe, expect, it } from "vitest";
import {
  composeSchemaErrors,
  composeSemanticProblems,
  parseCompose,
  readRepoFile,
  subgraphNames,
  type ComposeFile,
} from "./deploy-checks.ts";

const text = readRepoFile("docker-compose.yml");
const compose = parseCompose(text);
const copy = (): ComposeFile => structuredClone(compose);

describe("docker-compose.yml", () => {
  it("matches the compose-spec schema", () => {
    expect(composeSchemaErrors(compose)).toEqual([]);
  });

  it("has consistent services: dependencies, healthchecks, unique ports, one service per subgraph", () => {
    expect(composeSemanticProblems(compose)).toEqual([]);
  });

  it("runs every subgraph and the gateway from the one Dockerfile, and migrates from its build stage", () => {
    for (const name of [...subgraphNames(), "gateway"]) {
      expect(compose.services[name]?.build, name).toMatchObject({ context: ".", dockerfile: "Dockerfile" });
    }
    expect(compose.services["migrate"]?.build).toMatchObject({ target: "build" });
    expect(JSON.stringify(compose.services["migrate"]?.command)).toContain("npx tsx prisma/bootstrap.ts && npx tsx prisma/seed.ts");
  });

  it("keeps repetition in extension fields (x-...) referenced by YAML aliases", () => {
    expect(Object.keys(compose).filter((k) => k.startsWith("x-")).length).toBeGreaterThan(0);
    expect(text).toMatch(/<<: \*/);
  });
});

describe("the compose checks catch broken copies", () => {
  it("rejects an unknown key (healthcheckk)", () => {
    const broken = parseCompose(text.replace(/^(\s+)healthcheck:/m, "$1healthcheckk:"));
    expect(composeSchemaErrors(broken).map((e) => e.params)).toContainEqual({ additionalProperty: "healthcheckk" });
  });

  it("rejects a wrong type (ports: 4000)", () => {
    const broken = copy();
    broken.services["gateway"]!.ports = 4000;
    expect(composeSchemaErrors(broken).some((e) => e.instancePath === "/services/gateway/ports" && e.keyword === "type")).toBe(true);
  });

  it("rejects depends_on a missing service", () => {
    const broken = copy();
    broken.services["gateway"]!.depends_on = {
      ...(broken.services["gateway"]!.depends_on as object),
      ghost: { condition: "service_healthy" },
    };
    expect(composeSemanticProblems(broken)).toContain("gateway: depends_on unknown service 'ghost'");
  });

  it("rejects a gateway that does not wait for a subgraph to be healthy", () => {
    const broken = copy();
    const deps = broken.services["gateway"]!.depends_on as Record<string, { condition?: string }>;
    delete deps["orders"];
    deps["users"] = { condition: "service_started" };
    const problems = composeSemanticProblems(broken);
    expect(problems).toContain("gateway: does not wait for orders to be healthy");
    expect(problems).toContain("gateway: does not wait for users to be healthy");
  });

  it("rejects a long-running service without a healthcheck, a reused host port and a missing subgraph", () => {
    const broken = copy();
    delete broken.services["redis"]!.healthcheck;
    broken.services["products"]!.ports = ["4001:4002"];
    delete broken.services["notifications"];
    const problems = composeSemanticProblems(broken);
    expect(problems).toContain("redis: no healthcheck");
    expect(problems).toContain("host port 4001 published by both users and products");
    expect(problems).toContain("subgraphs/notifications has no service");
  });

  it("rejects a service that disagrees with the deploy spec: a literal secret, a missing secret or callee URL, a short stop grace", () => {
    const broken = copy();
    const orders = broken.services["orders"]!.environment as Record<string, string>;
    orders["SIGNING_KEYS"] = "k1:hard-coded-key-in-compose";
    (broken.services["products"]!.environment as Record<string, string>)["SIGNING_KEYS"] = "${SIGNING_KEYS_GATEWAY:?the master}";
    delete orders["PRODUCTS_URL"];
    delete (broken.services["users"]!.environment as Record<string, string>)["JWT_PRIVATE_KEY"];
    delete broken.services["gateway"]!["stop_grace_period"];
    (broken.services["gateway"]!.environment as Record<string, string>)["SUBGRAPH_SEARCH_URL"] = "http://search:4999/graphql";
    const problems = composeSemanticProblems(broken);
    expect(problems).toContain("orders: secret SIGNING_KEYS is not taken from ${SIGNING_KEYS_ORDERS:?...}");
    // Each subgraph its own service keys, never the gateway's master keys.
    expect(problems).toContain("products: secret SIGNING_KEYS is not taken from ${SIGNING_KEYS_PRODUCTS:?...}");
    expect(problems).toContain("orders: PRODUCTS_URL is not http://products:4002/graphql");
    expect(problems).toContain("users: secret JWT_PRIVATE_KEY is not set");
    expect(problems).toContain("gateway: stop_grace_period 10s does not outlast its forced exit after 15s");
    expect(problems).toContain("gateway: SUBGRAPH_SEARCH_URL is not http://search:4003/graphql");
  });

  it("rejects a subgraph pointed at another service's database", () => {
    const broken = copy();
    (broken.services["orders"]!.environment as Record<string, string>)["DATABASE_URL"] =
      "postgres://ecom_users:ecom_users@postgres:5432/ecom_users";
    expect(composeSemanticProblems(broken)).toContain("orders: unexpected DATABASE_URL");
  });
});
