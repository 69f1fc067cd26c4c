/**
 * `npm run saga -- list [--status RUNNING|COMPENSATING|COMPLETED|COMPENSATED] [--stuck] [--limit N]` and
 * `npm run saga -- show <orderId>`: the operator's view of the sagas in the orders database (counts by state,
 * stuck and retrying ones, and one saga's steps, compensation log and deadline).
 *
 * ORDERS_DATABASE_URL (default: the development database of orders, as `npm start` creates it).
 */
import { parseArgs } from "node:util";
import pg from "pg";
import { databaseUrlFor, parsePgUrl } from "@ecom/db";
import { pgDatabase } from "@ecom/events";
import { listSagas, readSaga, sagaCounts, type SagaStatus, type StoredSaga } from "@ecom/saga";

const STATUSES: readonly SagaStatus[] = ["RUNNING", "COMPENSATING", "COMPLETED", "COMPENSATED"];
/** A saga this long past its deadline is stuck (the saga timer acts on deadlines within a second or so). */
const STUCK_AFTER_MS = 60_000;
const USAGE = "usage: npm run saga -- list [--status RUNNING|COMPENSATING|COMPLETED|COMPENSATED] [--stuck] [--limit N] | show <orderId>";

const say = (line = "") => process.stdout.write(`${line}\n`);
const time = (ms: number | null) => (ms === null ? "-" : new Date(ms).toISOString().replace("T", " ").slice(0, 23));
const ago = (ms: number) => {
  const s = Math.round((Date.now() - ms) / 1000);
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
};

function table(rows: string[][]) {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows)
    say(
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    );
}

function describeSaga(saga: StoredSaga) {
  const step = saga.steps[saga.current];
  return saga.status === "RUNNING" || saga.status === "COMPENSATING" ? `${step?.name ?? "?"} (attempt ${saga.attempts})` : "-";
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { status: { type: "string" }, stuck: { type: "boolean", default: false }, limit: { type: "string", default: "30" } },
  });
  const [command, id] = positionals;
  if (command !== "list" && command !== "show") throw new Error(USAGE);
  if (values.status !== undefined && !STATUSES.includes(values.status as SagaStatus)) {
    throw new Error(`--status must be one of ${STATUSES.join(", ")} (got "${values.status}")`);
  }
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new Error("--limit must be a whole number from 1 to 1000");
  const url = process.env["ORDERS_DATABASE_URL"] ?? databaseUrlFor("orders");
  const pool = new pg.Pool({ ...parsePgUrl(url), max: 2 });
  pool.on("error", () => {});
  const db = pgDatabase(pool);
  try {
    await pool.query("SELECT 1 FROM sagas LIMIT 1").catch((error: unknown) => {
      throw new Error(
        `cannot read the sagas of ${parsePgUrl(url).database} (${error instanceof Error ? error.message : String(error)}): is the platform bootstrapped (npm start) and ORDERS_DATABASE_URL right?`,
      );
    });
    if (command === "list") {
      const counts = await db.$transaction((tx) => sagaCounts(tx, STUCK_AFTER_MS));
      say("sagas by state");
      table([
        ["saga", "status", "count", "stuck", "retrying"],
        ...counts.map((c) => [c.name, c.status, String(c.count), String(c.stuck), String(c.retrying)]),
      ]);
      if (counts.length === 0) say("(none yet)");
      const sagas = await db.$transaction((tx) =>
        listSagas(tx, { status: values.status as SagaStatus | undefined, stuckForMs: values.stuck ? STUCK_AFTER_MS : undefined, limit }),
      );
      say();
      say(`${values.stuck ? "stuck " : ""}${values.status ?? "all"} sagas, newest first (at most ${limit})`);
      table([
        ["id", "saga", "status", "waiting on", "deadline", "started", "reason"],
        ...sagas.map((s) => [s.id, s.name, s.status, describeSaga(s), time(s.deadlineAt), ago(s.createdAt), s.reason ?? ""]),
      ]);
      return;
    }
    if (!id || !/^[0-9a-f-]{36}$/i.test(id)) throw new Error(`show needs a saga id (the order id, a UUID): ${USAGE}`);
    const saga = await db.$transaction((tx) => readSaga(tx, id));
    if (!saga) throw new Error(`no saga ${id} (an order placed before the checkout saga existed has none)`);
    say(`saga ${saga.id} (${saga.name}): ${saga.status}${saga.reason ? `, because ${saga.reason}` : ""}`);
    say(
      `started ${time(saga.createdAt)}, updated ${time(saga.updatedAt)}, finished ${time(saga.finishedAt)}, deadline ${time(saga.deadlineAt)}`,
    );
    say();
    table([
      ["#", "step", "status", "attempts", "started", "finished", "result / error"],
      ...saga.steps.map((s, i) => [
        String(i + 1),
        s.name,
        s.status,
        String(s.attempts),
        s.startedAt ? time(Date.parse(s.startedAt)) : "-",
        s.finishedAt ? time(Date.parse(s.finishedAt)) : "-",
        s.error ?? (s.result === undefined ? "" : JSON.stringify(s.result)),
      ]),
    ]);
    if (saga.log.length > 0) {
      say();
      say("compensation log");
      table([
        ["at", "step", "attempt", "outcome", "detail"],
        ...saga.log.map((l) => [time(Date.parse(l.at)), l.step, String(l.attempt), l.outcome, l.detail ?? ""]),
      ]);
    }
  } finally {
    await pool.end();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`saga: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
