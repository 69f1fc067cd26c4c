import { isSelfOrAdmin, type createTokenIssuer } from "@ecom/auth";
import { badUserInput, unauthenticated } from "@ecom/errors";
import { DateTimeScalar, parseInput } from "@ecom/service";
import type { Resolvers } from "../__generated__/resolvers-types.ts";
import { isEmailTakenError, type UserRecord, type UsersRepository } from "../datasources/users.ts";
import { dummyPasswordHash, hashPassword, verifyPassword } from "../domain/password.ts";
import { registerInputSchema } from "../domain/validation.ts";

/** What the resolvers need beyond the request context. */
export interface ResolverDeps {
  users: UsersRepository;
  issueToken: ReturnType<typeof createTokenIssuer>;
  tokenTtlSeconds: number;
}

/** The users subgraph's resolvers. */
export function createResolvers(deps: ResolverDeps): Resolvers {
  const authPayload = async (user: UserRecord) => ({
    token: await deps.issueToken({ id: user.id, role: user.role }),
    expiresIn: deps.tokenTtlSeconds,
    user,
  });

  return {
    DateTime: DateTimeScalar,
    Query: {
      me: (_parent, _args, ctx) => (ctx.identity ? ctx.loaders.userById.load(ctx.identity.userId) : null),
      user: (_parent, { id }, ctx) => (isSelfOrAdmin(ctx.identity, id) ? ctx.loaders.userById.load(id) : null),
    },
    Mutation: {
      register: async (_parent, { input }) => {
        const data = parseInput(registerInputSchema, input, "input");
        try {
          const user = await deps.users.create({ email: data.email, name: data.name, passwordHash: await hashPassword(data.password) });
          return authPayload(user);
        } catch (error) {
          if (isEmailTakenError(error)) throw badUserInput("This email is already registered.", { field: "input.email" });
          throw error;
        }
      },
      login: async (_parent, { email, password }) => {
        // Same work and the same error whether the email is unknown or the password wrong (no enumeration).
        const normalized = email.trim().toLowerCase();
        const found = normalized.length <= 254 && password.length <= 1024 ? await deps.users.findCredentials(normalized) : null;
        const ok = await verifyPassword(password.slice(0, 1024), found?.passwordHash ?? (await dummyPasswordHash()));
        if (!found || !ok) throw unauthenticated("Wrong email or password.");
        const { passwordHash: _omit, ...user } = found;
        return authPayload(user);
      },
    },
    User: {
      // Other subgraphs reference users by id only; unknown ids resolve to null. Like `user(id)` (and orders' and
      // payments' references), a user is visible to themself and to ADMINs only: `_entities` must not hand any
      // caller anyone's email.
      __resolveReference: (ref, ctx) => (isSelfOrAdmin(ctx.identity, ref.id) ? ctx.loaders.userById.load(ref.id) : null),
    },
  };
}
