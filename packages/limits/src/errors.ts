import { ErrorCode } from "@ecom/errors";
import { GraphQLError } from "graphql";
import type { LimitRule } from "./config.ts";

/** One limit a request went over. */
export interface LimitViolation {
  rule: LimitRule;
  /** The configured maximum. */
  limit: number;
  /** What the request measured (a lower bound when the measure stopped early). */
  measured: number;
}

const WHAT: Record<LimitRule, string> = {
  tokens: "tokens",
  nesting: "levels of nesting",
  depth: "levels of field depth",
  aliases: "aliases",
  rootFields: "root fields",
  directives: "directives",
  fields: "fields once fragments are expanded",
  cost: "cost",
  operationsPerBatch: "operations in one request",
  resultSize: "values in the result",
  responseBytes: "bytes of response",
};

/** The client-facing message of a violation (names the rule and both numbers; never echoes the query). */
export function violationMessage(violation: LimitViolation): string {
  const { rule, limit, measured } = violation;
  if (rule === "cost") return `The operation costs ${measured}, more than the limit of ${limit}: ask for fewer or smaller lists.`;
  return `The operation has ${measured} ${WHAT[rule]}, more than the limit of ${limit}.`;
}

/**
 * QUERY_TOO_COMPLEX with HTTP 400 and `extensions { rule, limit, measured }`, so clients and dashboards can tell
 * which limit was hit and by how much.
 */
export function queryTooComplex(violation: LimitViolation): GraphQLError {
  return new GraphQLError(violationMessage(violation), {
    extensions: {
      code: ErrorCode.QUERY_TOO_COMPLEX,
      rule: violation.rule,
      limit: violation.limit,
      measured: violation.measured,
      http: { status: 400 },
    },
  });
}

/** The same error as a response body, for answers given before Apollo Server runs (the HTTP guard). */
export function queryTooComplexBody(violation: LimitViolation) {
  return {
    errors: [
      {
        message: violationMessage(violation),
        extensions: { code: ErrorCode.QUERY_TOO_COMPLEX, rule: violation.rule, limit: violation.limit, measured: violation.measured },
      },
    ],
  };
}
