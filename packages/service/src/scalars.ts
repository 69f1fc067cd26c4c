import { GraphQLError, GraphQLScalarType, Kind } from "graphql";

const ISO_DATE_TIME =
  /^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?(Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

/** True for a well-formed ISO-8601 date-time naming a day that exists (`Date.parse` rolls 02-30 over to March). */
function isValidIso(value: string): boolean {
  const m = ISO_DATE_TIME.exec(value);
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return day <= daysInMonth && !Number.isNaN(Date.parse(value));
}

function parseIso(value: unknown): Date {
  if (typeof value !== "string" || !isValidIso(value)) {
    throw new GraphQLError("DateTime must be an ISO-8601 string such as 2026-01-31T12:00:00Z.", { extensions: { code: "BAD_USER_INPUT" } });
  }
  return new Date(value);
}

/** `DateTime`: serialized as an ISO-8601 string in UTC; accepts ISO-8601 strings with an offset as input. */
export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: "DateTime",
  description: "An ISO-8601 date-time string, e.g. 2026-01-31T12:00:00.000Z.",
  serialize(value) {
    const date = value instanceof Date ? value : typeof value === "string" || typeof value === "number" ? new Date(value) : undefined;
    if (!date || Number.isNaN(date.getTime())) throw new GraphQLError(`DateTime cannot represent ${String(value)}`);
    return date.toISOString();
  },
  parseValue: parseIso,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw new GraphQLError("DateTime must be a string.", { extensions: { code: "BAD_USER_INPUT" } });
    return parseIso(ast.value);
  },
});
