/**
 * Rate limiting at the gateway: a thin adapter from Apollo Server to @ecom/ratelimit's {@link RateLimiter}.
 *
 * Each operation's facts (client address after the trusted proxies, signed-in user, operation name and type, every
 * root field with the email of `login`/`register`, the cost on demand) go to the limiter once the operation is
 * resolved and authenticated. A refusal is `RATE_LIMITED`, HTTP 429, `Retry-After`, nothing executed; every answer
 * to a counted operation carries the IETF `RateLimit-Policy` and `RateLimit` fields
 * (draft-ietf-httpapi-ratelimit-headers), serialized as Structured Fields by `structured-headers`.
 *
 * The check runs in `responseForOperation`, the first hook after every plugin's `didResolveOperation` (the auth
 * plugin establishes the identity there, concurrently with the others), and the one whose answer replaces
 * execution. It is placed before the response cache so a cached answer is counted too.
 */
import {
  HeaderMap,
  type ApolloServerPlugin,
  type BaseContext,
  type GraphQLRequestContextResponseForOperation,
  type GraphQLResponse,
} from "@apollo/server";
import type { Identity } from "@ecom/auth";
import { ErrorCode } from "@ecom/errors";
import { GATEWAY_LIMIT_DEFAULTS, operationCost, type CostConfig } from "@ecom/limits";
import type { Logger, Metrics } from "@ecom/observability";
import {
  policyWindowMs,
  RateLimiter,
  type Decision,
  type RateLimitRule,
  type RateLimitRuleInput,
  type RedisDownPolicy,
  type RequestFacts,
  type RootFieldFact,
} from "@ecom/ratelimit";
import {
  Kind,
  valueFromASTUntyped,
  type DocumentNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import { Redis } from "ioredis";
import { Counter, type Registry } from "prom-client";
import { serializeList } from "structured-headers";

/** Where `login` and `register` carry the email that the `email` key part counts by. */
export const DEFAULT_EMAIL_ARGUMENTS: Readonly<Record<string, string>> = { login: "email", register: "input.email" };

/** The gateway's limiter, its connection and its counters (built by {@link createGatewayRateLimit}). */
export interface GatewayRateLimit {
  limiter: RateLimiter;
  /** `gateway_rate_limit_rejections_total{rule}`. */
  rejections: Counter<"rule">;
  close(): void;
}

/** Options of {@link createGatewayRateLimit}. */
export interface GatewayRateLimitOptions {
  /** Counters shared by every gateway instance; none: this instance's memory only. */
  redisUrl?: string | undefined;
  /** Prefix of the Redis keys. */
  prefix: string;
  /** @default DEFAULT_RATE_LIMIT_RULES */
  rules?: readonly RateLimitRuleInput[] | undefined;
  /** @default "local" */
  onRedisDown?: RedisDownPolicy | undefined;
  logger: Logger;
  registry: Registry;
}

function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: L[]): Counter<L> {
  return (registry.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter({ name, help, labelNames, registers: [registry] });
}

/**
 * The limiter of one gateway process: Redis-backed when `redisUrl` is given, on a connection that fails fast while
 * Redis is unreachable (so the Redis-down policy answers at once rather than after a timeout), with every decision
 * made without Redis counted in `gateway_rate_limit_fallbacks_total{policy}`.
 */
export function createGatewayRateLimit(options: GatewayRateLimitOptions): GatewayRateLimit {
  const logger = options.logger.child({ component: "rate-limit" });
  const fallbacks = counter(
    options.registry,
    "gateway_rate_limit_fallbacks_total",
    "Rate-limit decisions made without Redis (unreachable), by the Redis-down policy that decided.",
    ["policy"],
  );
  const rejections = counter(
    options.registry,
    "gateway_rate_limit_rejections_total",
    "Operations refused by a rate-limit rule (RATE_LIMITED, HTTP 429), by rule id.",
    ["rule"],
  );
  const redis = options.redisUrl
    ? new Redis(options.redisUrl, {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        commandTimeout: 250,
        // The decisions of requests that arrive together go out in one write and come back in one read (each is
        // still its own atomic script): a socket write per request was most of what rate limiting cost.
        enableAutoPipelining: true,
        retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
      })
    : undefined;
  // The limiter logs an outage once and each decision is counted; ioredis reconnects by itself.
  redis?.on("error", () => {});
  const limiter = new RateLimiter({
    ...(options.rules ? { rules: options.rules } : {}),
    ...(redis ? { redis } : {}),
    prefix: options.prefix,
    onRedisDown: options.onRedisDown ?? "local",
    logger,
    onFallback: (policy) => fallbacks.inc({ policy }),
  });
  return { limiter, rejections, close: () => redis?.disconnect() };
}

/** Options of {@link createRateLimitPlugin}. */
export interface RateLimitPluginOptions<TContext extends BaseContext> {
  limit: GatewayRateLimit;
  /** The caller established by the auth plugin. */
  identityOf: (context: TContext) => Identity | null;
  /** The client's address (express `req.ip`, after the trusted proxies). */
  clientIpOf: (context: TContext) => string | undefined;
  metrics: Metrics;
  /** Where a cost that cannot be computed is reported. @default none */
  logger?: Logger;
  /**
   * The operation's cost for `weight: "cost"` rules: the query-limits plugin's `costOf` (measured once per request,
   * with the cost model of the limits in force).
   * @default operationCost of @ecom/limits with `cost`
   */
  costOf?: (requestContext: GraphQLRequestContextResponseForOperation<TContext>) => number | undefined;
  /**
   * The cost model when no `costOf` is given.
   * @default the gateway's query-limit cost model (GATEWAY_LIMIT_DEFAULTS.cost of @ecom/limits)
   */
  cost?: CostConfig;
  /**
   * Root field -> argument path of the email the `email` key part counts by.
   * @default DEFAULT_EMAIL_ARGUMENTS
   */
  emailArguments?: Readonly<Record<string, string>>;
}

/** Every root field of the operation, through root fragments, with the email argument where there is one. */
export function rootFieldsOf(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>>,
  emailArguments: Readonly<Record<string, string>> = DEFAULT_EMAIL_ARGUMENTS,
): RootFieldFact[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const fields: RootFieldFact[] = [];
  // Every spread is walked (a fragment spread twice selects its fields twice: both count, as both execute).
  // Validation has refused cycles already; the depth bound is a second line only.
  const walk = (set: SelectionSetNode, depth: number) => {
    if (depth > 32) return;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const path = Object.hasOwn(emailArguments, selection.name.value) ? emailArguments[selection.name.value] : undefined;
        let email: string | undefined;
        if (path) {
          const [argument, ...rest] = path.split(".");
          const node = selection.arguments?.find((a) => a.name.value === argument);
          let value: unknown = node ? valueFromASTUntyped(node.value, variables as Record<string, unknown>) : undefined;
          for (const key of rest) value = value !== null && typeof value === "object" ? (value as Record<string, unknown>)[key] : undefined;
          if (typeof value === "string") email = value;
        }
        fields.push({ name: selection.name.value, email });
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        walk(selection.selectionSet, depth + 1);
      } else {
        const fragment = fragments.get(selection.name.value);
        if (fragment) walk(fragment.selectionSet, depth + 1);
      }
    }
  };
  walk(operation.selectionSet, 0);
  return fields;
}

const seconds = (ms: number) => Math.max(0, Math.ceil(ms / 1000));

/** A rule's `RateLimit-Policy` member (`id;q=limit;w=window`). */
const policyMember = (rule: RateLimitRule): string =>
  serializeList([
    [
      rule.id,
      new Map([
        ["q", rule.limit],
        ["w", seconds(policyWindowMs(rule))],
      ]),
    ],
  ]);

/**
 * {@link policyMember}, kept per rule: a member depends on the rule alone, and rules are replaced, never changed,
 * by an update (so a WeakMap forgets the old ones).
 */
function rememberedPolicyMembers(): (rule: RateLimitRule) => string {
  const members = new WeakMap<RateLimitRule, string>();
  return (rule) => {
    let member = members.get(rule);
    if (member === undefined) members.set(rule, (member = policyMember(rule)));
    return member;
  };
}

/**
 * `RateLimit-Policy` and `RateLimit` of a decision: one member per rule that counted the request, named by the
 * rule id; `q` the limit, `w` the window (a bucket's: the time it takes to refill fully), `r` what remains, `t`
 * the seconds until quota comes back. A rule with several counters (one per email) reports its tightest.
 */
export function rateLimitHeaders(
  decision: Decision,
  policyMemberOf: (rule: RateLimitRule) => string = policyMember,
): { policy: string; limit: string } | undefined {
  const byRule = new Map<string, { rule: RateLimitRule; remaining: number; resetMs: number }>();
  for (const o of decision.outcomes) {
    const seen = byRule.get(o.rule.id);
    if (!seen || o.remaining < seen.remaining) byRule.set(o.rule.id, { rule: o.rule, remaining: o.remaining, resetMs: o.resetMs });
  }
  if (byRule.size === 0) return undefined;
  const rules = [...byRule.values()];
  return {
    // A Structured Fields list is its members joined by ", " (RFC 8941 4.1.1).
    policy: rules.map(({ rule }) => policyMemberOf(rule)).join(", "),
    limit: serializeList(
      rules.map(({ rule, remaining, resetMs }) => [
        rule.id,
        new Map([
          ["r", remaining],
          ["t", seconds(resetMs)],
        ]),
      ]),
    ),
  };
}

/** The RATE_LIMITED answer of a refused decision (HTTP 429, `Retry-After`). */
export function refusalOf(decision: Decision): {
  retryAfterSeconds: number;
  body: { message: string; extensions: Record<string, unknown> };
} {
  const refused = decision.outcomes.filter((o) => !o.allowed);
  // The rule the client waits longest for (one it can never pass first) names the refusal.
  const worst = refused.reduce((a, b) => (a.retryAfterMs < 0 ? a : b.retryAfterMs < 0 || b.retryAfterMs > a.retryAfterMs ? b : a));
  const rule = worst.rule;
  const windowSeconds = seconds(policyWindowMs(rule));
  const retryAfterSeconds = Math.max(1, decision.retryAfterMs < 0 ? windowSeconds : seconds(decision.retryAfterMs));
  const message =
    decision.decidedBy === "deny"
      ? "Too many requests: rate limiting is unavailable and this gateway refuses requests until it is back. Retry later."
      : worst.retryAfterMs < 0
        ? `Too many requests: this request counts more than rule "${rule.id}" allows (${rule.limit} per ${windowSeconds} s); send fewer operations or fields at once.`
        : `Too many requests: rule "${rule.id}" allows ${rule.limit} per ${windowSeconds} s. Retry after ${retryAfterSeconds} s.`;
  return {
    retryAfterSeconds,
    body: {
      message,
      extensions: {
        code: ErrorCode.RATE_LIMITED,
        rule: rule.id,
        limit: rule.limit,
        windowSeconds,
        retryAfter: retryAfterSeconds,
      },
    },
  };
}

/** See the module comment. */
export function createRateLimitPlugin<TContext extends BaseContext>(
  options: RateLimitPluginOptions<TContext>,
): ApolloServerPlugin<TContext> {
  const cost = options.cost ?? GATEWAY_LIMIT_DEFAULTS.cost;
  const emailArguments = options.emailArguments ?? DEFAULT_EMAIL_ARGUMENTS;
  const { limiter, rejections } = options.limit;
  const policyMemberOf = rememberedPolicyMembers();
  // The root fields of an operation without an email argument are the same on every request of its document
  // (Apollo Server hands out one DocumentNode per query text): walked once. null: they depend on the variables.
  const constantRootFields = new WeakMap<OperationDefinitionNode, readonly RootFieldFact[] | null>();
  const rootFieldsFor = (document: DocumentNode, operation: OperationDefinitionNode, variables: Readonly<Record<string, unknown>>) => {
    let fields = constantRootFields.get(operation);
    if (fields === undefined) {
      const walked = rootFieldsOf(document, operation, variables, emailArguments);
      fields = walked.some((f) => Object.hasOwn(emailArguments, f.name)) ? null : walked;
      constantRootFields.set(operation, fields);
      return walked;
    }
    return fields ?? rootFieldsOf(document, operation, variables, emailArguments);
  };
  return {
    async requestDidStart({ contextValue }) {
      return {
        async responseForOperation(requestContext): Promise<GraphQLResponse | null> {
          const { operation, document, schema, operationName, request, response } = requestContext;
          const variables = request.variables ?? {};
          const facts: RequestFacts = {
            ip: options.clientIpOf(contextValue),
            userId: options.identityOf(contextValue)?.userId,
            operationName: operationName ?? undefined,
            operationType: operation.operation,
            rootFields: rootFieldsFor(document, operation, variables),
            cost: () => {
              try {
                return options.costOf?.(requestContext) ?? operationCost({ schema, document, operationName, variables, config: cost });
              } catch (error) {
                // A cost the model cannot compute must not turn into a 500: the operation weighs 1, and it is logged.
                options.logger?.warn({ err: error, operationName }, "rate limiting: the operation's cost could not be computed");
                return 1;
              }
            },
          };
          const decision = await limiter.check(facts);
          const headers = rateLimitHeaders(decision, policyMemberOf);
          if (headers) {
            response.http.headers.set("ratelimit-policy", headers.policy);
            response.http.headers.set("ratelimit", headers.limit);
          }
          if (decision.allowed) return null;
          for (const id of new Set(decision.outcomes.filter((o) => !o.allowed).map((o) => o.rule.id))) rejections.inc({ rule: id });
          options.metrics.graphqlErrors.inc({ code: ErrorCode.RATE_LIMITED });
          const refusal = refusalOf(decision);
          return {
            http: { status: 429, headers: new HeaderMap([["retry-after", String(refusal.retryAfterSeconds)]]) },
            body: { kind: "single", singleResult: { errors: [refusal.body] } },
          };
        },
      };
    },
  };
}
