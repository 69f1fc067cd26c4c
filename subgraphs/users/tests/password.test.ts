import { describe, expect, it } from "vitest";
import { dummyPasswordHash, hashPassword, verifyPassword } from "../src/domain/password.ts";

// Cheap parameters keep the unit tests fast; the format and checks are the same as with the production cost.
const FAST = { N: 1024, r: 8, p: 1 };

describe("password hashing", () => {
  it("verifies the right password and refuses a wrong one", async () => {
    const hash = await hashPassword("s3cret-pass", FAST);
    expect(await verifyPassword("s3cret-pass", hash)).toBe(true);
    expect(await verifyPassword("s3cret-pasS", hash)).toBe(false);
  });

  it("salts every hash, so the same password hashes differently", async () => {
    expect(await hashPassword("same", FAST)).not.toBe(await hashPassword("same", FAST));
  });

  it("normalizes Unicode so that the same visible password verifies whatever its encoding", async () => {
    const composed = "caf\u00e9-password";
    const decomposed = "cafe\u0301-password";
    expect(await verifyPassword(decomposed, await hashPassword(composed, FAST))).toBe(true);
  });

  it("records its parameters, so hashes made with older costs still verify", async () => {
    const hash = await hashPassword("pw", FAST);
    expect(hash.split("$").slice(0, 4)).toEqual(["scrypt", "1024", "8", "1"]);
    expect(await verifyPassword("pw", hash)).toBe(true);
  });

  it("never matches a malformed stored hash", async () => {
    for (const stored of ["", "plain", "bcrypt$x", "scrypt$1024$8$1$salt", "scrypt$$$$$"]) {
      expect(await verifyPassword("pw", stored)).toBe(false);
    }
  });

  it("keeps one dummy hash for unknown emails", async () => {
    expect(await dummyPasswordHash()).toBe(await dummyPasswordHash());
  });
});
