import { createTokenVerifier } from "@ecom/auth";
import { demoUsers, DEMO_PASSWORD } from "@ecom/demo-data";
import { createTestDatabase } from "@ecom/testing";
import { describe, expect, inject, it } from "vitest";
import { seed } from "../src/seed.ts";
import { codesOf, JWT, sql, startUsers, testIdentities } from "./support.ts";

const run = inject("testRun");

/** The claims of a JWT (its signature is checked separately, with the verifier). */
const decodeJwt = (token: string) =>
  JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8")) as Record<string, number | string>;

const REGISTER = /* GraphQL */ `
  mutation Register($input: RegisterInput!) {
    register(input: $input) {
      token
      expiresIn
      user {
        id
        email
        name
        role
        createdAt
      }
    }
  }
`;
const LOGIN = /* GraphQL */ `
  mutation Login($email: String!, $password: String!) {
    login(email: $email, password: $password) {
      token
      user {
        id
        email
        role
      }
    }
  }
`;

type AuthPayload = { token: string; expiresIn: number; user: { id: string; email: string; name: string; role: string; createdAt: string } };
const userCount = async (url: string) => (await sql<{ n: number }>(url, "SELECT count(*)::int AS n FROM users"))[0]!.n;

describe("register", () => {
  it("creates a CUSTOMER with a scrypt hash (never the password) and returns a token for it", async () => {
    await using db = await createTestDatabase(run, "users");
    await using users = await startUsers(db.url);
    const res = await users.gql<{ register: AuthPayload }>(REGISTER, {
      input: { email: "  Carol@Example.COM ", password: "correct horse battery", name: "  Carol  " },
    });
    expect(res.errors).toBeUndefined();
    const { user, token, expiresIn } = res.data!.register;
    expect(user).toMatchObject({ email: "carol@example.com", name: "Carol", role: "CUSTOMER" });
    expect(new Date(user.createdAt).toISOString()).toBe(user.createdAt);
    expect(expiresIn).toBe(3600);
    const [row] = await sql<{ password_hash: string }>(db.url, "SELECT password_hash FROM users WHERE id = $1", [user.id]);
    expect(row!.password_hash).toMatch(/^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(row!.password_hash).not.toContain("correct horse");
    // The token verifies against the subgraph's own JWKS endpoint, with the expected claims.
    const verify = createTokenVerifier({ jwksUrl: new URL("/.well-known/jwks.json", users.url).toString() }, JWT);
    expect(await verify(token)).toEqual({ userId: user.id, role: "CUSTOMER" });
    const claims = decodeJwt(token);
    expect(Number(claims["exp"]) - Number(claims["iat"])).toBe(3600);
  });

  it("refuses an email already registered, whatever its case, and writes nothing", async () => {
    await using db = await createTestDatabase(run, "users");
    await using users = await startUsers(db.url);
    await users.gql(REGISTER, { input: { email: "dave@example.com", password: "password-1", name: "Dave" } });
    const again = await users.gql(REGISTER, { input: { email: "DAVE@example.com", password: "password-2", name: "Other" } });
    expect(codesOf(again)).toEqual(["BAD_USER_INPUT"]);
    expect(again.errors![0]!.extensions).toMatchObject({ field: "input.email" });
    expect(await userCount(db.url)).toBe(1);
  });

  it("creates exactly one account when the same email registers ten times at once", async () => {
    await using db = await createTestDatabase(run, "users");
    await using users = await startUsers(db.url);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        users.gql(REGISTER, { input: { email: "race@example.com", password: `password-${i}`, name: "Racer" } }),
      ),
    );
    expect(results.filter((r) => r.data?.register).length).toBe(1);
    expect(results.flatMap(codesOf).sort()).toEqual(Array(9).fill("BAD_USER_INPUT"));
    expect(await userCount(db.url)).toBe(1);
  });

  it.each([
    ["an invalid email", { email: "not-an-email", password: "password123", name: "X" }, "input.email"],
    ["an empty email", { email: "", password: "password123", name: "X" }, "input.email"],
    ["an email over 254 characters", { email: `${"a".repeat(250)}@example.com`, password: "password123", name: "X" }, "input.email"],
    ["a 7-character password", { email: "x@example.com", password: "1234567", name: "X" }, "input.password"],
    ["a 129-character password", { email: "x@example.com", password: "p".repeat(129), name: "X" }, "input.password"],
    ["a blank name", { email: "x@example.com", password: "password123", name: "   " }, "input.name"],
    ["a 101-character name", { email: "x@example.com", password: "password123", name: "n".repeat(101) }, "input.name"],
  ])("refuses %s with BAD_USER_INPUT naming the field, and writes nothing", async (_what, input, field) => {
    await using db = await createTestDatabase(run, "users");
    await using users = await startUsers(db.url);
    const res = await users.gql(REGISTER, { input });
    expect(codesOf(res)).toEqual(["BAD_USER_INPUT"]);
    expect(res.errors![0]!.extensions).toMatchObject({ field });
    expect(users.statements).toEqual([]);
    expect(await userCount(db.url)).toBe(0);
  });
});

describe("login", () => {
  it("signs in a seeded user with the demo password and the token carries the role", async () => {
    await using db = await createTestDatabase(run, "users");
    await seed(db.url);
    await using users = await startUsers(db.url);
    const admin = demoUsers.find((u) => u.role === "ADMIN")!;
    const res = await users.gql<{ login: AuthPayload }>(LOGIN, { email: admin.email.toUpperCase(), password: DEMO_PASSWORD });
    expect(res.data!.login.user).toEqual({ id: admin.id, email: admin.email, role: "ADMIN" });
    expect(decodeJwt(res.data!.login.token)).toMatchObject({ sub: admin.id, role: "ADMIN", iss: JWT.issuer, aud: JWT.audience });
  });

  it("gives the same UNAUTHENTICATED error for a wrong password and an unknown email (no user enumeration)", async () => {
    await using db = await createTestDatabase(run, "users");
    await seed(db.url);
    await using users = await startUsers(db.url);
    const wrongPassword = await users.gql(LOGIN, { email: demoUsers[0]!.email, password: "wrong-password" });
    const unknownEmail = await users.gql(LOGIN, { email: "nobody@example.com", password: "wrong-password" });
    expect(codesOf(wrongPassword)).toEqual(["UNAUTHENTICATED"]);
    expect(codesOf(unknownEmail)).toEqual(["UNAUTHENTICATED"]);
    expect(wrongPassword.errors![0]!.message).toBe(unknownEmail.errors![0]!.message);
    expect(wrongPassword.data).toBeNull();
  });

  it("refuses absurdly long credentials without looking them up", async () => {
    await using db = await createTestDatabase(run, "users");
    await using users = await startUsers(db.url);
    const res = await users.gql(LOGIN, { email: `${"a".repeat(10_000)}@example.com`, password: "p".repeat(100_000) });
    expect(codesOf(res)).toEqual(["UNAUTHENTICATED"]);
    expect(users.statements).toEqual([]);
  });
});

describe("reading users", () => {
  const ME = "{ me { id email name role } }";
  const USER = "query ($id: ID!) { user(id: $id) { id email } }";

  it("answers me for the caller and null when anonymous", async () => {
    await using db = await createTestDatabase(run, "users");
    await seed(db.url);
    await using users = await startUsers(db.url);
    const alice = demoUsers[0]!;
    const me = await users.gql<{ me: { id: string } | null }>(ME, {}, { userId: alice.id, role: "CUSTOMER" });
    expect(me.data!.me).toMatchObject({ id: alice.id, email: alice.email, role: "CUSTOMER" });
    expect((await users.gql<{ me: null }>(ME)).data).toEqual({ me: null });
  });

  it("shows user(id) to that user and to an ADMIN only; malformed ids are null without a query", async () => {
    await using db = await createTestDatabase(run, "users");
    await seed(db.url);
    await using users = await startUsers(db.url);
    const [alice, bob] = demoUsers;
    const asAlice = { userId: alice!.id, role: "CUSTOMER" as const };
    expect((await users.gql(USER, { id: alice!.id }, asAlice)).data).toEqual({ user: { id: alice!.id, email: alice!.email } });
    expect((await users.gql(USER, { id: bob!.id }, asAlice)).data).toEqual({ user: null });
    expect((await users.gql(USER, { id: bob!.id }, testIdentities.admin)).data).toEqual({ user: { id: bob!.id, email: bob!.email } });
    users.resetStatements();
    expect((await users.gql(USER, { id: "not-a-uuid" }, testIdentities.admin)).data).toEqual({ user: null });
    expect(users.statements).toEqual([]);
  });

  it("resolves many User references in one statement, unknown ids as null", async () => {
    await using db = await createTestDatabase(run, "users");
    await seed(db.url);
    await using users = await startUsers(db.url);
    const ids = [...demoUsers.map((u) => u.id), "00000000-0000-4000-8000-000000000000", "bogus"];
    users.resetStatements();
    const res = await users.gql<{ _entities: Array<{ id: string; name: string } | null> }>(
      "query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { id name } } }",
      { r: ids.map((id) => ({ __typename: "User", id })) },
      testIdentities.admin,
    );
    expect(res.data!._entities.map((u) => u?.id ?? null)).toEqual([...demoUsers.map((u) => u.id), null, null]);
    expect(users.statements.filter((s) => /select/i.test(s))).toHaveLength(1);
  });

  it("resolves a User reference (and its email) for that user and for ADMINs only, never for others or anonymous callers", async () => {
    await using db = await createTestDatabase(run, "users");
    await seed(db.url);
    await using users = await startUsers(db.url);
    const [alice, bob] = demoUsers;
    const ENTITIES = "query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { id email } } }";
    const refs = { r: [alice!, bob!].map((u) => ({ __typename: "User", id: u.id })) };
    const asAlice = { userId: alice!.id, role: "CUSTOMER" as const };
    const emails = async (identity: Parameters<typeof users.gql>[2]) =>
      (await users.gql<{ _entities: Array<{ email: string } | null> }>(ENTITIES, refs, identity)).data!._entities.map(
        (u) => u?.email ?? null,
      );
    expect(await emails(asAlice)).toEqual([alice!.email, null]);
    expect(await emails(testIdentities.admin)).toEqual([alice!.email, bob!.email]);
    users.resetStatements();
    expect(await emails(null)).toEqual([null, null]);
    // Nothing is even read for a caller who may see none of them.
    expect(users.statements).toEqual([]);
  });
});
