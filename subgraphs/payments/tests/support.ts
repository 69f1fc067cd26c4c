/** Test harness: the payments server on a free port, over a private database, with every SQL statement recorded. */
import { randomUUID } from "node:crypto";
import { buildWithDatabase, startSubgraphForTest, testIdentities, type RunningSubgraph } from "@ecom/testing";
import { createDatabase } from "../src/datasources/prisma.ts";
import type { ChargeInput } from "../src/domain/payments-service.ts";
import { createServer } from "../src/server.ts";

export { codesOf, sql, type GraphQLResponse } from "@ecom/testing";

export const { admin: ADMIN, alice: ALICE, bob: BOB } = testIdentities;

export type RunningPayments = RunningSubgraph;

/** Starts the payments subgraph against `databaseUrl`. Dispose it (`await using`) before the database. */
export function startPayments(databaseUrl: string): Promise<RunningPayments> {
  return startSubgraphForTest({ service: "payments", databaseUrl, build: buildWithDatabase(createDatabase, createServer) });
}

/** Statements that read or write the payments tables (transaction control excluded). */
export const paymentStatements = (statements: readonly string[]) =>
  statements.filter((s) => /\bpayments?(_events)?\b|"payments"|"payment_events"/i.test(s) && !/^\s*(BEGIN|COMMIT|ROLLBACK)/i.test(s));

/** A valid charge input for `buyer`, with fresh order id and key unless overridden. */
export function chargeInput(overrides: Partial<ChargeInputVars> = {}): ChargeInputVars {
  return {
    orderId: randomUUID(),
    buyerId: ALICE.userId,
    amount: 4599,
    currency: "USD",
    paymentToken: "tok_visa",
    idempotencyKey: `charge-${randomUUID()}`,
    ...overrides,
  };
}

/** The charge input of the GraphQL API and of the service. */
export type ChargeInputVars = ChargeInput;

export const PAYMENT_FIELDS = "id status amount { amount currency } createdAt declineCode order { id }";

export interface PaymentView {
  id: string;
  status: "CAPTURED" | "DECLINED" | "REFUNDED";
  amount: { amount: number; currency: string };
  createdAt: string;
  declineCode: string | null;
  order: { id: string };
}

export const CHARGE = `mutation Charge($input: ChargePaymentInput!) { chargePayment(input: $input) { ${PAYMENT_FIELDS} } }`;
export const REFUND = `mutation Refund($paymentId: ID!, $key: String!) { refundPayment(paymentId: $paymentId, idempotencyKey: $key) { ${PAYMENT_FIELDS} } }`;
