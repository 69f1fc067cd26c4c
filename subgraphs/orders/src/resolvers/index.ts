import { isSelfOrAdmin } from "@ecom/auth";
import { DateTimeScalar, isUuid, parsePageArgs, toConnection } from "@ecom/service";
import type { Resolvers } from "../__generated__/resolvers-types.ts";
import type { OrderCursor, OrderRecord } from "../datasources/orders.ts";
import type { Context } from "../context.ts";
import type { OrderConnectionParent } from "./models.ts";
import { createPlaceOrder, type PlaceOrderDeps } from "./place-order.ts";

/** What the resolvers need beyond the request context. */
export type ResolverDeps = PlaceOrderDeps;

/** The cursor of `User.orders` pages: the position in (createdAt desc, id desc). */
function isOrderCursor(value: unknown): value is OrderCursor {
  const v = value as Partial<OrderCursor> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    typeof v.id === "string" &&
    isUuid(v.id) &&
    typeof v.createdAt === "string" &&
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(v.createdAt) &&
    !Number.isNaN(Date.parse(v.createdAt))
  );
}

const cursorOf = (order: OrderRecord): OrderCursor => ({ createdAt: order.createdAt.toISOString(), id: order.id });

const EMPTY_CONNECTION: OrderConnectionParent = { edges: [], pageInfo: { hasNextPage: false, endCursor: null }, buyerId: null };

/** The order if the caller may see it (its buyer or an ADMIN), else null: the same answer as a missing order. */
async function visibleOrder(ctx: Context, id: string): Promise<OrderRecord | null> {
  if (!ctx.identity || !isUuid(id)) return null;
  const order = await ctx.loaders.orderById.load(id);
  return order && isSelfOrAdmin(ctx.identity, order.buyerId) ? order : null;
}

/** The orders subgraph's resolvers. */
export function createResolvers(deps: ResolverDeps): Resolvers {
  return {
    DateTime: DateTimeScalar,
    Query: {
      order: (_parent, { id }, ctx) => visibleOrder(ctx, id),
    },
    Mutation: {
      placeOrder: createPlaceOrder(deps),
    },
    Order: {
      // The gateway asks for orders by reference (e.g. from payments); the same visibility rule applies.
      __resolveReference: (ref, ctx) => visibleOrder(ctx, ref.id),
      total: (order) => ({ amount: order.totalAmount, currency: order.currency }),
      buyer: (order) => ({ __typename: "User", id: order.buyerId }),
      items: (order, _args, ctx) => ctx.loaders.itemsByOrderId.load(order.id),
      timeline: (order, _args, ctx) => ctx.loaders.timelineByOrderId.load(order.id),
    },
    OrderItem: {
      product: (item) => ({ __typename: "Product", id: item.productId }),
      unitPrice: (item) => ({ amount: item.unitAmount, currency: item.currency }),
    },
    User: {
      __resolveReference: (ref) => ({ id: ref.id }),
      orders: async (user, args, ctx) => {
        const page = parsePageArgs(args, isOrderCursor);
        // Another user's list is empty rather than an error: it reveals nothing, and a FORBIDDEN on this
        // non-null field would null the whole User for the other subgraphs' fields too.
        if (!isUuid(user.id) || !isSelfOrAdmin(ctx.identity, user.id)) return EMPTY_CONNECTION;
        const buyerId = user.id.toLowerCase();
        const rows = await ctx.loaders.ordersPage.load({ buyerId, take: page.take + 1, after: page.after });
        const { edges, pageInfo } = toConnection(rows, page.take, cursorOf, (order) => order);
        return { edges, pageInfo, buyerId };
      },
    },
    OrderConnection: {
      totalCount: (connection, _args, ctx) => (connection.buyerId ? ctx.loaders.orderCountByBuyer.load(connection.buyerId) : 0),
    },
  };
}
