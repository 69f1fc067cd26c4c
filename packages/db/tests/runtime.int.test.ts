import http from "node:http";
import type { AddressInfo } from "node:net";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { afterAll, describe, expect, inject, it } from "vitest";
import {
  CatalogAsTextClient,
  checkPostgres,
  createPrismaAdapter,
  createServiceDatabase,
  databaseOptionsFromEnv,
  formatPgUrl,
  parsePgUrl,
  withPgClient,
} from "@ecom/db";
import type { TestRunInfo } from "@ecom/testing";

const run: TestRunInfo = inject("testRun");
const admin = parsePgUrl(run.adminUrl);
const TEXT = 25;
const TEXT_ARRAY = 1009;
const NAME = 19;

describe("CatalogAsTextClient", () => {
  it("reports name-typed columns as text (promise API)", async () => {
    const client: pg.Client = new CatalogAsTextClient(admin);
    await client.connect();
    try {
      const result = await client.query("SELECT typname, typname::text AS as_text, oid FROM pg_type WHERE typname = 'int4'");
      expect(result.rows).toEqual([{ typname: "int4", as_text: "int4", oid: 23 }]);
      expect(result.fields.map((f) => [f.name, f.dataTypeID])).toEqual([
        ["typname", TEXT],
        ["as_text", TEXT],
        ["oid", 26],
      ]);
      const arrays = await client.query(
        "SELECT ARRAY[typname] AS names, relkind FROM pg_type, pg_class WHERE typname = 'int4' AND relname = 'pg_type'",
      );
      expect(arrays.fields.map((f) => f.dataTypeID)).toEqual([TEXT_ARRAY, TEXT]);
      expect(arrays.rows[0]).toEqual({ names: ["int4"], relkind: "r" });
    } finally {
      await client.end();
    }
  });

  it("reports name-typed columns as text through a pool (callback API)", async () => {
    const pool = new pg.Pool({ ...admin, Client: CatalogAsTextClient, max: 1 });
    try {
      const result = await pool.query("SELECT datname FROM pg_database WHERE datname = current_database()");
      expect(result.fields[0]!.dataTypeID).toBe(TEXT);
      expect(result.rows).toEqual([{ datname: admin.database }]);
    } finally {
      await pool.end();
    }
  });

  it("leaves a plain pg.Client reporting type name (19), which the Prisma adapter cannot read (prisma/orm#27403)", async () => {
    const plain = await withPgClient(admin, (c) => c.query("SELECT typname FROM pg_type LIMIT 1"));
    expect(plain.fields[0]!.dataTypeID).toBe(NAME);

    const query = { sql: "SELECT typname FROM pg_type WHERE typname = 'bool'", args: [], argTypes: [] };
    const broken = await new PrismaPg({ ...admin, max: 1 }).connect();
    try {
      await expect(broken.queryRaw(query)).rejects.toThrow();
    } finally {
      await broken.dispose();
    }
    const fixed = await new PrismaPg({ ...admin, max: 1, Client: CatalogAsTextClient }).connect();
    try {
      const result = await fixed.queryRaw(query);
      expect(result.rows).toEqual([["bool"]]);
      // name[] is announced as text[] and its values are real arrays, as for any text[] column.
      const arrays = await fixed.queryRaw({
        sql: "SELECT ARRAY[typname, 'x'] AS names FROM pg_type WHERE typname = 'bool'",
        args: [],
        argTypes: [],
      });
      expect(arrays.rows).toEqual([[["bool", "x"]]]);
    } finally {
      await fixed.dispose();
    }
  });
});

describe("createPrismaAdapter", () => {
  it("reports each SQL statement the pool runs to onQuery", async () => {
    const seen: string[] = [];
    const { adapter, pool } = createPrismaAdapter(run.adminUrl, {
      onQuery: (sql) => seen.push(sql),
      max: 2,
      applicationName: "ecom-db-test",
    });
    const db = await adapter.connect();
    try {
      await db.queryRaw({ sql: "SELECT 1 AS one", args: [], argTypes: [] });
      await db.queryRaw({ sql: "SELECT $1::int AS n", args: [2], argTypes: [{ scalarType: "int", arity: "scalar" }] as never });
      const tx = await db.startTransaction();
      await tx.queryRaw({ sql: "SELECT 3", args: [], argTypes: [] });
      // Prisma's engine sends COMMIT itself; the adapter's commit() only releases the connection.
      await tx.executeRaw({ sql: "COMMIT", args: [], argTypes: [] });
      await tx.commit();
      await pool.query("SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()");
      expect(seen.filter((s) => s === "SELECT 1 AS one")).toHaveLength(1);
      expect(seen).toContain("SELECT $1::int AS n");
      expect(seen).toContain("SELECT 3");
      expect(seen.filter((s) => s === "BEGIN" || s === "COMMIT")).toEqual(["BEGIN", "COMMIT"]);
      const app = await pool.query<{ application_name: string }>(
        "SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()",
      );
      expect(app.rows[0]!.application_name).toBe("ecom-db-test");
    } finally {
      await db.dispose();
      await pool.end();
    }
  });

  it("reports nothing without onQuery and still works", async () => {
    const { pool } = createPrismaAdapter(run.adminUrl, { max: 1 });
    try {
      expect((await pool.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
    } finally {
      await pool.end();
    }
  });
});

describe("the pool's limits", () => {
  it("has Postgres cancel a statement past the statement timeout (5 s by default), and keeps serving", async () => {
    const { pool } = createPrismaAdapter(run.adminUrl, { max: 1, statementTimeoutMs: 300 });
    try {
      expect((await pool.query("SHOW statement_timeout")).rows).toEqual([{ statement_timeout: "300ms" }]);
      expect((await pool.query("SHOW idle_in_transaction_session_timeout")).rows).toEqual([{ idle_in_transaction_session_timeout: "10s" }]);
      const started = Date.now();
      await expect(pool.query("SELECT pg_sleep(5)")).rejects.toMatchObject({ code: "57014" });
      expect(Date.now() - started).toBeLessThan(3000);
      expect((await pool.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
    } finally {
      await pool.end();
    }
    const defaults = createPrismaAdapter(run.adminUrl, { max: 1 });
    try {
      expect((await defaults.pool.query("SHOW statement_timeout")).rows).toEqual([{ statement_timeout: "5s" }]);
    } finally {
      await defaults.pool.end();
    }
  });

  it("makes a request wait at most the connection timeout for a connection of a full pool", async () => {
    const { pool } = createPrismaAdapter(run.adminUrl, { max: 1, connectionTimeoutMs: 200 });
    const held = await pool.connect();
    try {
      await expect(pool.query("SELECT 1")).rejects.toThrow(/timeout/i);
      expect(pool.totalCount).toBe(1);
    } finally {
      held.release();
      await pool.end();
    }
  });

  it("reads DB_POOL_MAX and DB_STATEMENT_TIMEOUT, leaving unset ones to the defaults", () => {
    expect(databaseOptionsFromEnv({ DB_POOL_MAX: 4, DB_STATEMENT_TIMEOUT: 2000 })).toEqual({ max: 4, statementTimeoutMs: 2000 });
    expect(databaseOptionsFromEnv({})).toEqual({});
  });
});

describe("createServiceDatabase", () => {
  /** Stands in for a generated PrismaClient: records how it was built and disconnected. */
  class RecordingClient {
    disconnected = false;
    constructor(readonly options: { adapter: PrismaPg }) {}
    async $disconnect() {
      this.disconnected = true;
    }
  }

  it("builds the service's client on the adapter's pool, checks readiness on it, and closes client then pool", async () => {
    const seen: string[] = [];
    const db = createServiceDatabase(RecordingClient, run.adminUrl, {
      max: 1,
      onQuery: (sql) => seen.push(sql),
      applicationName: "ecom-db-test",
    });
    expect(db.prisma).toBeInstanceOf(RecordingClient);
    expect(db.prisma.options.adapter).toBeInstanceOf(PrismaPg);
    await expect(db.check()).resolves.toBeDefined();
    expect(seen).toContain("SELECT 1");
    const app = await db.pool.query<{ application_name: string }>(
      "SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()",
    );
    expect(app.rows[0]!.application_name).toBe("ecom-db-test");
    await db.close();
    expect(db.prisma.disconnected).toBe(true);
    expect(db.pool.ended).toBe(true);
    await expect(db.close()).resolves.toBeUndefined();
  });
});

describe("checkPostgres", () => {
  const servers: http.Server[] = [];
  afterAll(async () => {
    for (const s of servers) await new Promise((r) => s.close(r));
  });

  it("resolves when Postgres answers", async () => {
    await expect(checkPostgres(run.adminUrl)).resolves.toBeUndefined();
  });

  it("rejects within seconds for a closed port, saying how to start Postgres", async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const started = Date.now();
    const url = formatPgUrl({ ...admin, port, password: "hunter2" });
    const error = await checkPostgres(url).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(Error);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(error!.message).toContain("pg_ctlcluster");
    expect(error!.message).toContain("ECONNREFUSED");
    expect(error!.message).not.toContain("hunter2");
  });

  it("rejects within its timeout when something listens but never answers", async () => {
    const silent = http.createServer();
    silent.on("connection", () => {}); // accepts TCP, never speaks Postgres
    servers.push(silent);
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const started = Date.now();
    await expect(checkPostgres(formatPgUrl({ ...admin, port: (silent.address() as AddressInfo).port }), 500)).rejects.toThrow(
      /not reachable/,
    );
    expect(Date.now() - started).toBeLessThan(3000);
    silent.closeAllConnections();
  });

  it("names the server's reason, without the start-up hint, when Postgres answers but refuses", async () => {
    const error = await checkPostgres(formatPgUrl({ ...admin, database: `${run.prefix}_no_such_db` })).catch((e: unknown) => e as Error);
    expect(error!.message).toMatch(/refused the connection: database ".*_no_such_db" does not exist \(SQLSTATE 3D000\)/);
    expect(error!.message).not.toContain("pg_ctlcluster");
  });
});
