/**
 * The persisted saga state: one row per instance in the owner's `sagas` table (see the orders schema, model Saga),
 * read under `FOR UPDATE` so that two replies of one saga, or a reply and its deadline, are applied one after the
 * other. Plain SQL through the transaction's raw methods, so the package needs no service's Prisma client.
 */
import type { SqlTransaction } from "@ecom/events";
import type { Json } from "./definition.ts";
import type { CompensationLogEntry, SagaState, SagaStatus, StepState } from "./state.ts";

/** A stored saga: its state and what the operator's view shows besides. */
export interface StoredSaga<Input = Json> extends SagaState {
  input: Input;
  version: number;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

interface Row {
  id: string;
  name: string;
  status: SagaStatus;
  current: number;
  input: unknown;
  steps: StepState[];
  log: CompensationLogEntry[];
  reason: string | null;
  deadline_ms: number | null;
  attempts: number;
  version: number;
  created_ms: number;
  updated_ms: number;
  finished_ms: number | null;
}

const COLUMNS = `id::text AS id, name, status, current, input, steps, log, reason,
  (extract(epoch FROM deadline_at) * 1000)::float8 AS deadline_ms, attempts, version,
  (extract(epoch FROM created_at) * 1000)::float8 AS created_ms, (extract(epoch FROM updated_at) * 1000)::float8 AS updated_ms,
  (extract(epoch FROM finished_at) * 1000)::float8 AS finished_ms`;

const parseJson = <T>(value: unknown): T => (typeof value === "string" ? (JSON.parse(value) as T) : (value as T));

function fromRow<Input>(row: Row): StoredSaga<Input> {
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    current: row.current,
    input: parseJson<Input>(row.input),
    steps: parseJson<StepState[]>(row.steps),
    log: parseJson<CompensationLogEntry[]>(row.log),
    reason: row.reason,
    deadlineAt: row.deadline_ms === null ? null : Number(row.deadline_ms),
    attempts: row.attempts,
    version: row.version,
    createdAt: Number(row.created_ms),
    updatedAt: Number(row.updated_ms),
    finishedAt: row.finished_ms === null ? null : Number(row.finished_ms),
  };
}

const toTimestamp = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const finished = (status: SagaStatus) => status === "COMPLETED" || status === "COMPENSATED";

/** Inserts a new saga; resolves false (and writes nothing) when one with this id exists. */
export async function insertSaga(tx: SqlTransaction, state: SagaState, input: unknown, now: number): Promise<boolean> {
  const inserted = await tx.$executeRawUnsafe(
    `INSERT INTO sagas (id, name, status, current, input, steps, log, reason, deadline_at, attempts, version, created_at, updated_at)
     VALUES ($1::uuid, $2, $3, $4, $5::jsonb, $6::jsonb, $7::jsonb, $8, $9::timestamptz, $10, 0, $11::timestamptz, $11::timestamptz)
     ON CONFLICT (id) DO NOTHING`,
    state.id,
    state.name,
    state.status,
    state.current,
    JSON.stringify(input),
    JSON.stringify(state.steps),
    JSON.stringify(state.log),
    state.reason,
    toTimestamp(state.deadlineAt),
    state.attempts,
    new Date(now).toISOString(),
  );
  return inserted > 0;
}

/** The saga, locked until the transaction ends (null when missing, or when `skipLocked` and another holds it). */
export async function lockSaga<Input>(
  tx: SqlTransaction,
  id: string,
  options: { skipLocked?: boolean } = {},
): Promise<StoredSaga<Input> | null> {
  const rows = await tx.$queryRawUnsafe<Row[]>(
    `SELECT ${COLUMNS} FROM sagas WHERE id = $1::uuid FOR UPDATE${options.skipLocked ? " SKIP LOCKED" : ""}`,
    id,
  );
  return rows[0] ? fromRow<Input>(rows[0]) : null;
}

/** Saves a transition's state (under the lock taken by {@link lockSaga}). */
export async function saveSaga(tx: SqlTransaction, state: SagaState, now: number): Promise<void> {
  await tx.$executeRawUnsafe(
    `UPDATE sagas SET status = $2, current = $3, steps = $4::jsonb, log = $5::jsonb, reason = $6, deadline_at = $7::timestamptz,
       attempts = $8, version = version + 1, updated_at = $9::timestamptz,
       finished_at = CASE WHEN $10::boolean THEN COALESCE(finished_at, $9::timestamptz) ELSE NULL END
     WHERE id = $1::uuid`,
    state.id,
    state.status,
    state.current,
    JSON.stringify(state.steps),
    JSON.stringify(state.log),
    state.reason,
    toTimestamp(state.deadlineAt),
    state.attempts,
    new Date(now).toISOString(),
    finished(state.status),
  );
}

/** Ids of unfinished sagas of `name` whose deadline passed at `now`, oldest deadline first. */
export async function dueSagas(tx: SqlTransaction, name: string, now: number, limit: number): Promise<string[]> {
  const rows = await tx.$queryRawUnsafe<Array<{ id: string }>>(
    `SELECT id::text AS id FROM sagas
     WHERE name = $1 AND status IN ('RUNNING', 'COMPENSATING') AND deadline_at <= $2::timestamptz
     ORDER BY deadline_at LIMIT $3`,
    name,
    new Date(now).toISOString(),
    limit,
  );
  return rows.map((r) => r.id);
}

/** One saga, unlocked (operators, tests). */
export async function readSaga<Input = Json>(tx: SqlTransaction, id: string): Promise<StoredSaga<Input> | null> {
  const rows = await tx.$queryRawUnsafe<Row[]>(`SELECT ${COLUMNS} FROM sagas WHERE id = $1::uuid`, id);
  return rows[0] ? fromRow<Input>(rows[0]) : null;
}

/** Options of {@link listSagas}. */
export interface ListSagasOptions {
  name?: string;
  status?: SagaStatus;
  /** Only unfinished sagas whose deadline passed more than this long ago. */
  stuckForMs?: number;
  /** @default 50 */
  limit?: number;
}

/** Sagas, newest first. */
export async function listSagas(tx: SqlTransaction, options: ListSagasOptions = {}): Promise<StoredSaga[]> {
  const rows = await tx.$queryRawUnsafe<Row[]>(
    `SELECT ${COLUMNS} FROM sagas
     WHERE ($1::text IS NULL OR name = $1) AND ($2::text IS NULL OR status = $2)
       AND ($3::float8 IS NULL OR (status IN ('RUNNING', 'COMPENSATING') AND deadline_at < now() - make_interval(secs => $3::float8 / 1000)))
     ORDER BY created_at DESC, id DESC LIMIT $4`,
    options.name ?? null,
    options.status ?? null,
    options.stuckForMs ?? null,
    options.limit ?? 50,
  );
  return rows.map((r) => fromRow(r));
}

/** Counts by name and status, and of stuck and retrying sagas (metrics, `npm run saga -- list`). */
export async function sagaCounts(
  tx: SqlTransaction,
  stuckAfterMs: number,
  options: { unfinishedOnly?: boolean } = {},
): Promise<Array<{ name: string; status: SagaStatus; count: number; stuck: number; retrying: number }>> {
  return tx.$queryRawUnsafe(
    `SELECT name, status, count(*)::int AS count,
       count(*) FILTER (WHERE status IN ('RUNNING', 'COMPENSATING') AND deadline_at < now() - make_interval(secs => $1::float8 / 1000))::int AS stuck,
       count(*) FILTER (WHERE status = 'COMPENSATING' AND attempts > 1)::int AS retrying
     FROM sagas WHERE NOT $2::boolean OR status IN ('RUNNING', 'COMPENSATING') GROUP BY name, status ORDER BY name, status`,
    stuckAfterMs,
    options.unfinishedOnly ?? false,
  );
}
