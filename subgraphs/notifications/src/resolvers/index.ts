import { requireUser } from "@ecom/auth";
import { notFound } from "@ecom/errors";
import { DateTimeScalar, isUuid } from "@ecom/service";
import type { Resolvers } from "../__generated__/resolvers-types.ts";
import type { NotificationsRepository } from "../datasources/notifications.ts";
import { parseFirst } from "../domain/validation.ts";

/** What the resolvers need beyond the request context. */
export interface ResolverDeps {
  notifications: NotificationsRepository;
}

/** The notifications subgraph's resolvers. */
export function createResolvers(deps: ResolverDeps): Resolvers {
  return {
    DateTime: DateTimeScalar,
    Mutation: {
      markNotificationRead: async (_parent, { id }, ctx) => {
        const user = requireUser(ctx.identity);
        const notification = await deps.notifications.markRead(id, user.userId);
        if (!notification) throw notFound("Notification", id);
        return notification;
      },
    },
    User: {
      // Users are owned by the users subgraph: this one only adds `notifications` to the reference it is given.
      __resolveReference: (ref) => ({ id: ref.id }),
      notifications: (user, { first }, ctx) => {
        const take = parseFirst(first);
        // Self only, and an empty list (not FORBIDDEN) for anyone else: see the field's description in the SDL.
        const self = ctx.identity !== null && ctx.identity.userId.toLowerCase() === user.id.toLowerCase();
        if (!self || take === 0 || !isUuid(user.id)) return [];
        return ctx.loaders.notificationsByUser.load({ userId: user.id, first: take });
      },
    },
  };
}
