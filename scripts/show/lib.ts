/**
 * What every `npm run show -- <pattern>` uses: timestamped output lines, a failure that names what did not happen,
 * condition waits, GraphQL over plain fetch (status, headers and partial data visible), Prometheus metrics read
 * with parse-prometheus-text-format, and the ports of `npm start`'s processes.
 */
import { GATEWAY_PORT, SUBGRAPHS, WORKER_PORT_OFFSET, type SubgraphName } from "@ecom/config";
import { DEMO_PASSWORD } from "@ecom/demo-data";
import { Redis } from "ioredis";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import type { ShowEnv } from "./env.ts";

/** What a show did not see happen: printed as `FAILED: <message>` and the command exits 1. */
export class ShowFailure extends Error {
  override readonly name = "ShowFailure";
}

/** The show needs something the platform does not have (yet): printed as `not available: <what>`, exit 1. */
export class NotAvailable extends Error {
  override readonly name = "NotAvailable";
}

/** One GraphQL error as the gateway formats it. */
export interface GqlError {
  message: string;
  path?: Array<string | number>;
  extensions?: { code?: string; [key: string]: unknown };
}

/** An answer of the gateway, whatever its status. */
export interface GqlAnswer<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  data?: T | null;
  errors?: GqlError[];
  extensions?: Record<string, unknown>;
  /** Milliseconds the request took. */
  ms: number;
}

/** The running show: its settings, its output, its helpers. */
export class Show {
  private readonly started = performance.now();
  private readonly cleanups: Array<() => Promise<void> | void> = [];

  constructor(
    readonly env: ShowEnv,
    private readonly out: Pick<NodeJS.WriteStream, "write"> = process.stdout,
  ) {}

  /** Seconds since the show started, right-aligned: every line carries it so a reader sees the timing. */
  private stamp(): string {
    return `${((performance.now() - this.started) / 1000).toFixed(1).padStart(5)}s`;
  }

  /** One line of what happens. */
  say(line: string): void {
    this.out.write(`${this.stamp()}  ${line}\n`);
  }

  /** A heading for a phase of the show. */
  step(title: string): void {
    this.out.write(`${this.stamp()}  == ${title}\n`);
  }

  /** Lines printed as they are, indented (a query plan, a CLI's output). */
  block(text: string): void {
    for (const line of text.replace(/\n$/, "").split("\n")) this.out.write(`         ${line}\n`);
  }

  /** Runs `fn` when the show ends, whether it passed or failed (newest first). */
  defer(fn: () => Promise<void> | void): void {
    this.cleanups.unshift(fn);
  }

  /** Runs the deferred cleanups; never throws (a failed cleanup is printed). */
  async cleanup(): Promise<void> {
    for (const fn of this.cleanups.splice(0)) {
      try {
        await fn();
      } catch (error) {
        this.say(`cleanup failed: ${(error as Error).message}`);
      }
    }
  }

  /**
   * Polls `check` until it returns a value other than undefined/false; fails naming `what` after `timeoutMs`
   * (default SHOW_WAIT). `check` may throw: the error is kept and named if the wait fails.
   */
  async waitFor<T>(
    what: string,
    check: () => Promise<T | undefined | false> | T | undefined | false,
    options: { timeoutMs?: number; everyMs?: number } = {},
  ): Promise<T> {
    const timeoutMs = options.timeoutMs ?? this.env.waitMs;
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
      try {
        const value = await check();
        if (value !== undefined && value !== false) return value;
      } catch (error) {
        lastError = error;
      }
      if (Date.now() > deadline) {
        throw new ShowFailure(
          `${what} did not happen within ${Math.round(timeoutMs / 1000)} s${lastError ? ` (last error: ${(lastError as Error).message})` : ""}`,
        );
      }
      await sleep(options.everyMs ?? 100);
    }
  }

  /** Posts a GraphQL request to the gateway; never throws for a GraphQL or HTTP error (only when unreachable). */
  async gql<T = Record<string, unknown>>(
    query: string,
    options: { variables?: Record<string, unknown>; headers?: Record<string, string>; token?: string } = {},
  ): Promise<GqlAnswer<T>> {
    const t0 = performance.now();
    let res: Response;
    try {
      res = await fetch(this.env.gatewayUrl, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...options.headers,
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        },
        body: JSON.stringify({ query, ...(options.variables ? { variables: options.variables } : {}) }),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      throw new ShowFailure(
        `the gateway at ${this.env.gatewayUrl} did not answer (${(error as Error).message}): is \`npm start\` running? (GATEWAY_URL / START_BASE_PORT say where)`,
      );
    }
    const text = await res.text();
    let body: { data?: T | null; errors?: GqlError[]; extensions?: Record<string, unknown> } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // not a GraphQL body (an HTTP-level refusal): status and headers say what happened
    }
    return { status: res.status, headers: res.headers, ...body, ms: performance.now() - t0 };
  }

  /** Signs in a demo user through the gateway; resolves with the token. */
  async login(email: string): Promise<string> {
    const answer = await this.gql<{ login: { token: string } }>(
      "mutation Login($email: String!, $password: String!) { login(email: $email, password: $password) { token } }",
      { variables: { email, password: DEMO_PASSWORD } },
    );
    const token = answer.data?.login.token;
    if (!token)
      throw new ShowFailure(`could not sign in as ${email}: ${describeErrors(answer)} (is the demo data seeded? npm start seeds it)`);
    return token;
  }

  /** The Prometheus exposition of a process's `/metrics` (e.g. `this.env.gatewayOrigin`). */
  async metrics(origin: string): Promise<Metrics> {
    let res: Response;
    try {
      res = await fetch(`${origin}/metrics`, { signal: AbortSignal.timeout(10_000) });
    } catch (error) {
      throw new ShowFailure(`${origin}/metrics did not answer (${(error as Error).message})`);
    }
    if (!res.ok) throw new ShowFailure(`${origin}/metrics answered ${res.status}`);
    return new Metrics(await res.text());
  }

  /** The port `npm start` gives a subgraph (its first instance). */
  subgraphPort(name: SubgraphName): number {
    return SUBGRAPHS[name] - GATEWAY_PORT + this.env.basePort;
  }

  /** The origin of a subgraph's worker (health and metrics). */
  workerOrigin(name: SubgraphName): string {
    return `http://127.0.0.1:${this.subgraphPort(name) + WORKER_PORT_OFFSET}`;
  }
}

/** Parsed Prometheus text: sums of samples by name and labels. */
export class Metrics {
  private readonly families: ReturnType<typeof parsePrometheusTextFormat>;
  constructor(readonly text: string) {
    // parse-prometheus-text-format merges every sample of a histogram or summary family into one, losing their
    // labels; without their TYPE line, the `_count`, `_sum` and `_bucket` series are read as plain labelled
    // samples (e.g. `http_request_duration_seconds_count{route="/graphql"}`).
    this.families = parsePrometheusTextFormat(text.replace(/^# TYPE \S+ (histogram|summary)$/gm, ""));
  }

  /** The sum of the samples of `name` whose labels include `labels` (0 when there are none). */
  value(name: string, labels: Record<string, string> = {}): number {
    let sum = 0;
    for (const family of this.families) {
      if (family.name !== name) continue;
      for (const sample of family.metrics) {
        const sampleLabels = (sample as { labels?: Record<string, string> }).labels ?? {};
        if (!Object.entries(labels).every(([k, v]) => sampleLabels[k] === v)) continue;
        sum += Number(sample.value ?? 0);
      }
    }
    return sum;
  }

  /** Every distinct value of `label` among the samples of `name`. */
  labelValues(name: string, label: string): string[] {
    const values = new Set<string>();
    for (const family of this.families) {
      if (family.name !== name) continue;
      for (const sample of family.metrics) {
        const v = (sample as { labels?: Record<string, string> }).labels?.[label];
        if (v !== undefined) values.add(v);
      }
    }
    return [...values].sort();
  }
}

/** A Redis connection for a show: fails at once (no retries) with the fix named when Redis does not answer. */
export async function connectRedis(show: Show): Promise<Redis> {
  const redis = new Redis(show.env.redisUrl, {
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  redis.on("error", () => {});
  try {
    await redis.connect();
  } catch (error) {
    throw new ShowFailure(`Redis at ${show.env.redisUrl} did not answer (${(error as Error).message}): start it, or set REDIS_URL`);
  }
  return redis;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `CODE: message` of every error of an answer, or its HTTP status when it has none. */
export function describeErrors(answer: Pick<GqlAnswer, "status" | "errors">): string {
  if (!answer.errors?.length) return `HTTP ${answer.status}`;
  return answer.errors.map((e) => `${e.extensions?.code ?? "?"}: ${e.message}`).join("; ");
}

/** The `extensions.code` values of an answer's errors. */
export const codesOf = (answer: Pick<GqlAnswer, "errors">): string[] => (answer.errors ?? []).map((e) => String(e.extensions?.code));
