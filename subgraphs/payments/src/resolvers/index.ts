import { isSelfOrAdmin, requireRole, type Identity } from "@ecom/auth";
import { DateTimeScalar, isUuid } from "@ecom/service";
import type { Resolvers } from "../__generated__/resolvers-types.ts";
import type { PaymentRecord } from "../datasources/payments.ts";
import type { PaymentsService } from "../domain/payments-service.ts";

/** What the resolvers need beyond the request context. */
export interface ResolverDeps {
  payments: PaymentsService;
}

/** A payment is visible to its buyer and to ADMINs; to anyone else it does not exist (null, not FORBIDDEN). */
const visibleTo = (identity: Identity | null, payment: PaymentRecord | null) =>
  payment && isSelfOrAdmin(identity, payment.buyerId) ? payment : null;

/** The payments subgraph's resolvers. */
export function createResolvers(deps: ResolverDeps): Resolvers {
  return {
    DateTime: DateTimeScalar,
    Query: {
      payment: async (_parent, { id }, ctx) => (isUuid(id) ? visibleTo(ctx.identity, await ctx.loaders.paymentById.load(id)) : null),
    },
    Mutation: {
      chargePayment: (_parent, { input }, ctx) => {
        requireRole(ctx.identity, "ADMIN");
        return deps.payments.charge(input, { fieldRoot: "input" });
      },
      refundPayment: (_parent, { paymentId, idempotencyKey }, ctx) => {
        requireRole(ctx.identity, "ADMIN");
        return deps.payments.refund({ paymentId, idempotencyKey });
      },
    },
    Payment: {
      __resolveReference: async (ref, ctx) => (isUuid(ref.id) ? visibleTo(ctx.identity, await ctx.loaders.paymentById.load(ref.id)) : null),
      amount: (payment) => ({ amount: payment.amount, currency: payment.currency }),
      order: (payment) => ({ id: payment.orderId }),
    },
    Order: {
      // Orders are owned by the orders subgraph: this one only adds `payment` to the reference it is given.
      __resolveReference: (ref) => ({ id: ref.id }),
      payment: async (order, _args, ctx) =>
        isUuid(order.id) ? visibleTo(ctx.identity, await ctx.loaders.latestPaymentByOrderId.load(order.id)) : null,
    },
  };
}
