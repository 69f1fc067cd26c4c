/**
 * Picks the instance of one subgraph that serves a call: pure (no I/O, clock and randomness injectable), so every
 * rule is unit-tested with fake time.
 *
 * - **Strategies**: `round-robin` or `least-in-flight` (fewest calls in flight from this process, ties broken in
 *   turn so equal instances share the load).
 * - **Outlier ejection** per instance (in the manner of Envoy's outlier detection): `consecutiveFailures` failures
 *   in a row take an instance out for `baseEjectionMs` times the number of times it was ejected (capped at
 *   `maxEjectionMs`); at most `maxEjectedPercent` of the instances are out at once. Back from ejection, one more
 *   failure ejects it again at once (its streak is not forgotten), one success clears its record. The subgraph's
 *   circuit breaker still guards the subgraph as a whole.
 * - **Canary split**: with a route `{ version, weight }`, instances tagged with that version get `weight` percent
 *   of the calls. The split is sticky: a call with a sticky key (the user id) lands in a fixed bucket of 10,000
 *   (sha1 of key, subgraph and canary version), so one user stays on one version while the weight stays, and
 *   raising the weight only moves users from stable to canary. Without a key (anonymous) the draw is random. A pin
 *   (`x-canary: always` / `never`) overrides the draw.
 * - **Availability first**: when the chosen side has no instance that is neither ejected nor already tried by this
 *   call, the other side serves; when none is healthy at all, an ejected one is tried rather than failing
 *   (Envoy's "panic mode").
 */
import { createHash } from "node:crypto";
import { z } from "zod";

/** Outlier ejection settings. */
export const outlierDetectionSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Failures in a row (connection errors, timeouts, 5xx) that eject an instance. */
    consecutiveFailures: z.number().int().min(1).max(1000).default(3),
    /** The first ejection's length; the n-th lasts n times as long. */
    baseEjectionMs: z.number().int().min(1).max(3_600_000).default(5000),
    maxEjectionMs: z.number().int().min(1).max(3_600_000).default(60_000),
    /** Never more than this share of the instances out at once (a single instance is never ejected). */
    maxEjectedPercent: z.number().min(0).max(100).default(50),
  })
  .strict();

/** How the gateway balances across a subgraph's instances (live configuration: `balancer`). */
export const balancerConfigSchema = z
  .object({
    strategy: z.enum(["round-robin", "least-in-flight"]).default("least-in-flight"),
    outlierDetection: outlierDetectionSchema.default(outlierDetectionSchema.parse({})),
  })
  .strict();

/** A canary route of one subgraph: the canary release and its share of the traffic in percent. */
export const canaryRouteSchema = z
  .object({
    /** The `version` tag of the canary instances. */
    version: z.string().min(1).max(100),
    /** Percent of calls (0 to 100; fractions allowed) sent to the canary. */
    weight: z.number().min(0).max(100),
  })
  .strict();

export type BalancerConfig = z.infer<typeof balancerConfigSchema>;
export type BalancerConfigInput = z.input<typeof balancerConfigSchema>;
export type CanaryRoute = z.infer<typeof canaryRouteSchema>;

/** An instance as the balancer sees it. */
export interface BalancerEndpoint {
  id: string;
  url: string;
  /** Its release (`version` tag). */
  version: string;
}

/** What one call asks for. */
export interface ChooseRequest {
  /** Keeps a caller on one side of the canary split (the user id). @default a random draw */
  stickyKey?: string | undefined;
  /** `canary` or `stable` overrides the split (`x-canary: always` / `never`). */
  pin?: "canary" | "stable" | undefined;
  /** Instances this call already tried (a retry goes elsewhere when it can). */
  exclude?: ReadonlySet<string> | undefined;
}

/** The instance chosen for one call; report its outcome exactly once. */
export interface Choice {
  endpoint: BalancerEndpoint;
  /** `canary` when the canary route sent it there, else `stable` (also when no route is set). */
  side: "canary" | "stable";
  /** Ends the call: `failure` for a connection error, a timeout or a 5xx; counts toward ejection. */
  done(outcome: "success" | "failure"): void;
}

/** Per-instance state, for diagnostics. */
export interface EndpointStats extends BalancerEndpoint {
  inFlight: number;
  consecutiveFailures: number;
  ejections: number;
  /** Clock time until which it is ejected (0: not ejected). */
  ejectedUntil: number;
}

/** Options of {@link InstanceBalancer}. */
export interface InstanceBalancerOptions {
  /** Subgraph name: salts the sticky hash so that users land independently per subgraph. */
  name: string;
  config?: BalancerConfigInput;
  /** @default Date.now */
  now?: () => number;
  /** @default Math.random */
  random?: () => number;
}

type State = EndpointStats;

const BUCKETS = 10_000;

/** The canary bucket (0 to 9,999) of a sticky key. */
export function canaryBucket(key: string, salt: string): number {
  return createHash("sha1").update(`${salt}\u0000${key}`).digest().readUInt32BE(0) % BUCKETS;
}

/** See the module comment. One per subgraph, long-lived (its state outlives instance list changes). */
export class InstanceBalancer {
  private config: BalancerConfig;
  private states: State[] = [];
  private canary: CanaryRoute | undefined;
  // One turn counter per side, so that the canary's draws do not skew the rotation among stable instances.
  private readonly turns = { canary: 0, stable: 0 };
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly options: InstanceBalancerOptions) {
    this.config = balancerConfigSchema.parse(options.config ?? {});
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  /** Replaces the settings (validated; throws a ZodError and keeps the old ones when invalid). */
  update(config: BalancerConfigInput): void {
    this.config = balancerConfigSchema.parse(config);
  }

  /** The canary route, or undefined for none (validated like {@link InstanceBalancer.update}). */
  setCanary(route: CanaryRoute | undefined): void {
    this.canary = route === undefined ? undefined : canaryRouteSchema.parse(route);
  }

  /** The instance list (from the registry or static configuration); known instances keep their state. */
  setInstances(endpoints: readonly BalancerEndpoint[]): void {
    const known = new Map(this.states.map((s) => [s.id, s]));
    this.states = endpoints.map((e) => {
      const previous = known.get(e.id);
      if (previous) return Object.assign(previous, e);
      return { ...e, inFlight: 0, consecutiveFailures: 0, ejections: 0, ejectedUntil: 0 };
    });
  }

  /** The instances now. */
  endpoints(): readonly BalancerEndpoint[] {
    return this.states.map(({ id, url, version }) => ({ id, url, version }));
  }

  stats(): EndpointStats[] {
    return this.states.map((s) => ({ ...s }));
  }

  /** The instance for one call, or undefined when there is none at all. */
  choose(request: ChooseRequest = {}): Choice | undefined {
    if (this.states.length === 0) return undefined;
    const now = this.now();
    const route = this.canary;
    const canaryStates = route ? this.states.filter((s) => s.version === route.version) : [];
    const split = route !== undefined && canaryStates.length > 0 && canaryStates.length < this.states.length;
    let wantCanary = false;
    if (split) {
      if (request.pin) wantCanary = request.pin === "canary";
      else {
        const bucket =
          request.stickyKey !== undefined && request.stickyKey !== ""
            ? canaryBucket(request.stickyKey, `${this.options.name}\u0000${route.version}`)
            : Math.floor(this.random() * BUCKETS);
        wantCanary = bucket < route.weight * (BUCKETS / 100);
      }
    }
    const preferred = split ? this.states.filter((s) => (s.version === route.version) === wantCanary) : this.states;
    const other = split ? this.states.filter((s) => (s.version === route.version) !== wantCanary) : [];
    const usable = (s: State) => s.ejectedUntil <= now && !request.exclude?.has(s.id);
    const candidates =
      nonEmpty(preferred.filter(usable)) ??
      nonEmpty(other.filter(usable)) ??
      // Panic mode: every instance is ejected or already tried; an ejected one beats a certain failure.
      nonEmpty(this.states.filter((s) => !request.exclude?.has(s.id))) ??
      this.states;
    const side = route !== undefined && candidates[0]!.version === route.version ? "canary" : "stable";
    const state = this.pick(candidates, side);
    state.inFlight++;
    let finished = false;
    return {
      endpoint: { id: state.id, url: state.url, version: state.version },
      side: route !== undefined && state.version === route.version ? "canary" : "stable",
      done: (outcome) => {
        if (finished) return;
        finished = true;
        state.inFlight--;
        this.record(state, outcome);
      },
    };
  }

  private pick(candidates: readonly State[], side: "canary" | "stable"): State {
    const start = this.turns[side]++ % candidates.length;
    if (this.config.strategy === "round-robin") return candidates[start]!;
    let best = candidates[start]!;
    for (let i = 1; i < candidates.length; i++) {
      const s = candidates[(start + i) % candidates.length]!;
      if (s.inFlight < best.inFlight) best = s;
    }
    return best;
  }

  private record(state: State, outcome: "success" | "failure"): void {
    if (outcome === "success") {
      state.consecutiveFailures = 0;
      state.ejections = 0;
      return;
    }
    state.consecutiveFailures++;
    const od = this.config.outlierDetection;
    const now = this.now();
    if (!od.enabled || state.consecutiveFailures < od.consecutiveFailures || state.ejectedUntil > now) return;
    const ejectedNow = this.states.filter((s) => s.ejectedUntil > now).length;
    const allowed = Math.floor((this.states.length * od.maxEjectedPercent) / 100);
    if (ejectedNow + 1 > allowed) return;
    state.ejections++;
    state.ejectedUntil = now + Math.min(od.baseEjectionMs * state.ejections, od.maxEjectionMs);
  }
}

function nonEmpty<T>(list: T[]): T[] | undefined {
  return list.length > 0 ? list : undefined;
}
