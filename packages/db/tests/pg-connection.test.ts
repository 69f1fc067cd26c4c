import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { databaseUrlFor, discoverServiceDatabases, formatPgUrl, parsePgUrl, quoteIdent, quoteLiteral, redactPgUrl } from "@ecom/db";

describe("parsePgUrl", () => {
  it("splits a URL into separate fields, decoding escapes", () => {
    expect(parsePgUrl("postgres://ecom_users:s%40cr%2Ft%3A@db.internal:6543/ecom_users")).toEqual({
      host: "db.internal",
      port: 6543,
      user: "ecom_users",
      password: "s@cr/t:",
      database: "ecom_users",
    });
  });

  it("fills defaults for what the URL leaves out", () => {
    expect(parsePgUrl("postgresql://localhost")).toEqual({
      host: "localhost",
      port: 5432,
      user: "postgres",
      password: undefined,
      database: "postgres",
    });
    expect(parsePgUrl("postgres://postgres@127.0.0.1:5432/postgres").password).toBeUndefined();
  });

  it("unbrackets IPv6 hosts", () => {
    expect(parsePgUrl("postgres://u:p@[::1]:5432/db").host).toBe("::1");
  });

  it("keeps the TLS requirement of sslmode instead of silently dropping it", () => {
    expect(parsePgUrl("postgres://u:p@h/db").ssl).toBeUndefined();
    expect(parsePgUrl("postgres://u:p@h/db?sslmode=disable").ssl).toBe(false);
    expect(parsePgUrl("postgres://u:p@h/db?sslmode=require").ssl).toBe(true);
    expect(parsePgUrl("postgres://u:p@h/db?sslmode=verify-full").ssl).toBe(true);
    expect(parsePgUrl("postgres://u:p@h/db?sslmode=no-verify").ssl).toEqual({ rejectUnauthorized: false });
    expect(() => parsePgUrl("postgres://u:p@h/db?sslmode=sometimes")).toThrow(/Unknown sslmode "sometimes"/);
  });

  it("refuses other schemes and garbage without echoing the password", () => {
    expect(() => parsePgUrl("mysql://u:hunter2@h/db")).toThrow(/expected postgres:\/\//);
    expect(() => parsePgUrl("mysql://u:hunter2@h/db")).not.toThrow(/hunter2/);
    expect(() => parsePgUrl("not a url")).toThrow(/Not a valid Postgres URL/);
  });
});

describe("formatPgUrl", () => {
  it.each([
    "postgres://ecom_users:ecom_users@127.0.0.1:5432/ecom_users",
    "postgres://u:s%40cr%2Ft%3A@db.internal:6543/my%20db",
    "postgres://postgres@127.0.0.1:5432/postgres",
    "postgres://u:p@[::1]:5432/db",
    "postgres://u:p@h:5432/db?sslmode=disable",
    "postgres://u:p@h:5432/db?sslmode=no-verify",
  ])("is the inverse of parsePgUrl for %s", (url) => {
    expect(formatPgUrl(parsePgUrl(url))).toBe(url);
  });

  it("round-trips fields with awkward characters", () => {
    const fields = { host: "h", port: 1, user: "we!rd user", password: "p@ss/w:rd?#%", database: "d/b" };
    expect(parsePgUrl(formatPgUrl(fields))).toEqual(fields);
  });
});

describe("redactPgUrl", () => {
  it.each([
    ["postgres://u:hunter2@h:5432/db", "postgres://u:***@h:5432/db"],
    ["postgresql://u:hunter2@h/db?sslmode=require", "postgresql://u:***@h/db?sslmode=require"],
    ["postgres://u:hun@ter2@h/db", "postgres://u:***@h/db"],
    ["postgres://u:hun/ter2@h/db", "postgres://u:***@h/db"],
    ["postgres://:hunter2@h/db", "postgres://:***@h/db"],
  ])("hides the password of %s", (url, expected) => {
    expect(redactPgUrl(url)).toBe(expected);
    expect(redactPgUrl(url)).not.toContain("hunter2");
    expect(redactPgUrl(url)).not.toContain("ter2");
  });

  it("leaves URLs without a password unchanged", () => {
    for (const url of ["postgres://postgres@127.0.0.1:5432/postgres", "postgres://h:5432/db", "postgres://h/db"])
      expect(redactPgUrl(url)).toBe(url);
  });
});

describe("quoting", () => {
  it("quotes identifiers and literals, doubling embedded quotes", () => {
    expect(quoteIdent("ecom_users")).toBe('"ecom_users"');
    expect(quoteIdent('a"; DROP DATABASE x; --')).toBe('"a""; DROP DATABASE x; --"');
    expect(quoteLiteral("it's")).toBe("'it''s'");
  });
});

describe("databaseUrlFor", () => {
  it("builds the development URL: role, password and database all <prefix>_<service>", () => {
    expect(databaseUrlFor("users")).toBe("postgres://ecom_users:ecom_users@127.0.0.1:5432/ecom_users");
    expect(databaseUrlFor("Orders", { prefix: "ecom_tABC", host: "db", port: 6000 })).toBe(
      "postgres://ecom_tabc_orders:ecom_tabc_orders@db:6000/ecom_tabc_orders",
    );
  });
});

describe("discoverServiceDatabases", () => {
  const root = mkdtempSync(path.join(tmpdir(), "ecom-discover-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("finds every subgraph with a prisma/schema.prisma, sorted, and ignores the others", () => {
    for (const [name, withSchema] of [
      ["orders", true],
      ["gateway-ish", false],
      ["catalog", true],
    ] as const) {
      mkdirSync(path.join(root, "subgraphs", name, "prisma"), { recursive: true });
      if (withSchema) writeFileSync(path.join(root, "subgraphs", name, "prisma", "schema.prisma"), "");
    }
    writeFileSync(path.join(root, "subgraphs", "README.md"), "");
    expect(discoverServiceDatabases(root)).toEqual([
      { name: "catalog", dir: path.join(root, "subgraphs", "catalog") },
      { name: "orders", dir: path.join(root, "subgraphs", "orders") },
    ]);
  });

  it("returns nothing without a subgraphs folder", () => {
    expect(discoverServiceDatabases(path.join(root, "nowhere"))).toEqual([]);
  });
});
