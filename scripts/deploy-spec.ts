/**
 * What each deployable needs wherever it runs (docker-compose.yml, the Kubernetes manifests): its port, image,
 * entry point, configuration, secrets, database, Redis and which other deployables it calls. Derived from the one
 * list of deployables (`scripts/topology.ts`, which reads the port table of `packages/config`), so a new subgraph or
 * worker is one entry there and, if it needs something unusual, one entry in {@link NEEDS} below.
 *
 * `npm run k8s:generate` turns this into `k8s/base/**` (committed, checked for drift); the deploy tests check
 * docker-compose.yml against the same facts.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { subgraphUrlVariable } from "@ecom/config";
import { deployables, GATEWAY_NODE_OPTIONS, type Deployable } from "./topology.ts";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Kubernetes namespace of the platform. */
export const NAMESPACE = "ecom";

/** Where container images are pushed (change it here and regenerate, or override per overlay with `images:`). */
export const IMAGE_REGISTRY = "ghcr.io/your-org";

/**
 * The image tag the manifests deploy: the platform's release version (root package.json), never `latest`, so a
 * rollout is a diff. CI may pin a digest per overlay with `kustomize edit set image`.
 */
export function imageTag(root = ROOT): string {
  return (JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { version: string }).version;
}

/**
 * Graceful termination, in the order Kubernetes runs it: the `preStop` pause (endpoints are removed while it
 * sleeps), then SIGTERM: readiness answers 503 at once, the process keeps serving for `shutdownDelay`, stops
 * accepting, lets in-flight work finish for up to `drainTimeout`, exits 0. The process's forced-exit timer
 * (`runUntilSignal`) is `shutdownDelay + drainTimeout + forcedExitMargin`, and `terminationGracePeriodSeconds`
 * covers the pause plus that timer, so Kubernetes never SIGKILLs a process that is still draining.
 */
export const SHUTDOWN = {
  preStopSeconds: 5,
  shutdownDelay: "2s",
  shutdownDelayMs: 2_000,
  drainTimeout: "15s",
  drainTimeoutMs: 15_000,
  forcedExitMarginMs: 5_000,
  terminationGracePeriodSeconds: 35,
} as const;

/** The kinds that are deployed (the queue dashboard is a development tool, never deployed). */
export type DeployKind = Exclude<Deployable["kind"], "dashboard">;

/** Resource requests and limits by kind of deployable (overlays scale them). */
export const RESOURCES: Record<DeployKind, { requests: { cpu: string; memory: string }; limits: { cpu: string; memory: string } }> = {
  // 768Mi: the old generation it had at 512Mi plus the larger young generation (see nodeOptions).
  gateway: { requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu: "1", memory: "768Mi" } },
  subgraph: { requests: { cpu: "100m", memory: "192Mi" }, limits: { cpu: "500m", memory: "384Mi" } },
  worker: { requests: { cpu: "50m", memory: "128Mi" }, limits: { cpu: "250m", memory: "256Mi" } },
};

/**
 * V8 flags per kind (`NODE_OPTIONS`, which replaces the image's own `NODE_OPTIONS`): the heap is kept below the
 * container's memory limit so V8 collects before the kernel kills the process. The gateway keeps its measured
 * young generation (`GATEWAY_NODE_OPTIONS`, scripts/topology.ts: semi-spaces of 64 MiB); V8's young generation is
 * three semi-spaces, so what it takes beyond V8's default (16 MiB) comes off the old generation's share. Add other
 * V8 flags here, once.
 */
export function nodeOptions(kind: DeployKind): string {
  const limitMi = Number.parseInt(RESOURCES[kind].limits.memory, 10);
  const semiSpaceMi = kind === "gateway" ? Number(/--max-semi-space-size=(\d+)/.exec(GATEWAY_NODE_OPTIONS)?.[1] ?? 16) : 16;
  const oldSpaceMi = Math.floor(limitMi * 0.75) - 3 * (semiSpaceMi - 16);
  return [`--max-old-space-size=${oldSpaceMi}`, ...(kind === "gateway" ? [GATEWAY_NODE_OPTIONS] : [])].join(" ");
}

/**
 * The OpenTelemetry collector every process exports its traces to (OTLP over HTTP; packages/observability's
 * tracing is on when `OTEL_EXPORTER_OTLP_ENDPOINT` is set). The NetworkPolicy `allow-otlp` lets every pod reach
 * it; change it here (or per overlay with a ConfigMap patch) for another collector.
 */
export const OTLP_COLLECTOR = {
  namespace: "observability",
  podLabels: { "app.kubernetes.io/name": "opentelemetry-collector" },
  url: "http://otel-collector.observability.svc:4318",
  port: 4318,
} as const;

/** A variable whose value is secret: it lives in a Kubernetes Secret (never in a ConfigMap or the repository). */
export interface SecretVariable {
  /** The environment variable the process reads. */
  variable: string;
  /** Which deployables read it. */
  usedBy: (d: DeployTarget) => boolean;
  /**
   * `shared`: one value for every deployable that reads it (Secret `ecom-shared`); `service`: one value per
   * service, shared by its subgraph, worker and migration job (Secret `ecom-<service>`).
   */
  scope: "shared" | "service";
  /** How to produce a value (shown in the Secret templates and the README). */
  howTo: (service: string) => string;
  /**
   * The operator's variable compose takes the value from (`${NAME:?...}`). A `service`-scoped secret read by
   * several deployables needs one per service.
   * @default the variable itself
   */
  composeVariable?: (service: string) => string;
}

/**
 * Every secret variable of the platform, in one place: the manifests, the Secret templates, compose's checks and
 * the README's list are derived from it.
 */
export const SECRET_VARIABLES: readonly SecretVariable[] = [
  {
    // Signed subgraph calls (packages/auth signing.ts): the gateway holds the master keys, each subgraph only its
    // own service keys (it cannot forge calls to another), so one Secret per service. Workers serve no signed
    // requests and get none.
    variable: "SIGNING_KEYS",
    usedBy: (d) => d.kind === "gateway" || d.kind === "subgraph",
    scope: "service",
    howTo: (service) =>
      service === "gateway"
        ? "npm run keys (the master keys: first signs, keep the old one second while rotating)"
        : `npm run keys (${service}'s service keys)`,
    composeVariable: (service) => `SIGNING_KEYS_${service.toUpperCase()}`,
  },
  {
    variable: "PRODUCTS_SIGNING_KEYS",
    usedBy: (d) => d.kind === "subgraph" && d.service === "orders",
    scope: "service",
    howTo: () => "npm run keys (orders -> products: orders' price lookups, signed as orders)",
  },
  {
    variable: "JWT_PRIVATE_KEY",
    usedBy: (d) => d.kind === "subgraph" && d.service === "users",
    scope: "service",
    howTo: () => "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 (PKCS#8 PEM, ES256)",
  },
  {
    variable: "DATABASE_URL",
    usedBy: (d) => d.database,
    scope: "service",
    howTo: (service) => `postgres://ecom_${service}:<password>@<postgres-host>:5432/ecom_${service}`,
  },
];

/** The operator's variable compose reads a secret of `service` from (see {@link SecretVariable.composeVariable}). */
export function composeVariableOf(variable: SecretVariable, service: string): string {
  return variable.composeVariable?.(service) ?? variable.variable;
}

/** Name of the Kubernetes Secret holding a variable for a service. */
export function secretName(variable: SecretVariable, service: string): string {
  return variable.scope === "shared" ? "ecom-shared" : `ecom-${service}`;
}

/** What a deployable needs beyond what its kind implies. One entry per deployable that is unusual. */
interface Needs {
  /** Uses Redis (queues, rate limits, caches). */
  redis?: boolean;
  /** Other deployables it calls, with the variable that holds the URL of their `/graphql`. */
  calls?: Record<string, string>;
  /** Static configuration beyond the common variables. */
  env?: Record<string, string>;
}

/**
 * TRUST_PROXY of the gateway in Kubernetes (express `trust proxy`, gateway/src/http-hygiene.ts). The gateway is a
 * ClusterIP Service: every client reaches it through the ingress controller or the mesh's ingress gateway (a pod
 * address, in the private ranges of the pod network), and in the canary overlay through its own Istio sidecar,
 * which connects from 127.0.0.6. Unset, the client address of every request would be that hop's, so the per-address
 * rate limits (login brute force, register-ip) would count every client of an ingress pod together. express walks
 * X-Forwarded-For from the right and stops at the first address it does not trust: trusting loopback (the sidecar)
 * and the private ranges (the ingress hop) makes that the address the ingress appended, the client's; what a client
 * wrote into the header itself lies further left and is never used. Not `true` (any client picks its address: the
 * gateway refuses it) and not a hop count (the canary overlay's sidecar is one more hop than the other overlays
 * have).
 *
 * Its limit: any pod in the cluster's private ranges that reaches the gateway directly, not through the ingress, is
 * trusted too and can claim any address (the gateway's NetworkPolicy admits every namespace, because where the
 * ingress controller runs differs by cluster). An operator narrows it with an overlay patch of the ConfigMap
 * `ecom-gateway` that names the ingress controller's pod CIDR (`TRUST_PROXY: "loopback, 10.8.0.0/16"`) and, with
 * it, a NetworkPolicy that admits only the ingress controller's namespace. A pod network outside the private ranges
 * (e.g. 100.64.0.0/10) needs that patch too, or the ingress hop is not trusted and clients share its address.
 * docker-compose publishes the gateway directly (no proxy): there TRUST_PROXY stays unset.
 */
export const GATEWAY_TRUST_PROXY = "loopback, uniquelocal";

const NEEDS: Record<string, Needs> = {
  // Rate limits and caches live in Redis (packages/ratelimit); the client address they key on: GATEWAY_TRUST_PROXY.
  gateway: { redis: true, env: { JWT_ISSUER: "ecom-users", JWT_AUDIENCE: "ecom-gateway", TRUST_PROXY: GATEWAY_TRUST_PROXY } },
  users: { env: { JWT_ISSUER: "ecom-users", JWT_AUDIENCE: "ecom-gateway", JWT_TTL: "1h" } },
  // Orders reads product prices from the products subgraph when an order is placed (subgraphs/orders/src/env.ts).
  orders: { calls: { products: "PRODUCTS_URL" } },
};

/** A deployable with everything the deploy files need. */
export interface DeployTarget {
  name: string;
  kind: DeployKind;
  /** The workspace folder's last segment: `gateway` or the subgraph's name (a worker's is its subgraph's). */
  service: string;
  /** Workspace folder relative to the root (`gateway`, `subgraphs/users`): the Dockerfile's SERVICE. */
  workspace: string;
  port: number;
  image: string;
  /** The container's command (the image's CMD runs the HTTP server). */
  command: string[];
  /** Has its own database (subgraphs and their workers). */
  database: boolean;
  redis: boolean;
  /** Deployables it calls over HTTP, with the variable naming the URL. */
  calls: Record<string, string>;
  /** Static configuration (ConfigMap `ecom-<name>`), secrets excluded. */
  env: Record<string, string>;
  /** The secret variables it reads. */
  secrets: SecretVariable[];
}

/** The in-cluster URL of a deployable's GraphQL endpoint. */
export const serviceUrl = (name: string, port: number, route = "/graphql") => `http://${name}:${port}${route}`;

/** In-cluster Redis (overlays may point elsewhere). */
export const REDIS_URL = "redis://redis:6379/0";

/** Every deployable with its deploy facts, in topology order (subgraphs by port, workers, then the gateway). */
export function deployTargets(root = ROOT): DeployTarget[] {
  const list = deployables(root).filter((d) => d.kind !== "dashboard");
  const byName = new Map(list.map((d) => [d.name, d]));
  const tag = imageTag(root);
  return list.map((d): DeployTarget => {
    const kind = d.kind as DeployKind;
    const workspace = path.relative(root, d.dir).split(path.sep).join("/");
    const service = path.basename(d.dir);
    const needs = NEEDS[d.name] ?? {};
    const database = kind === "subgraph" || kind === "worker";
    let calls = needs.calls ?? {};
    const env: Record<string, string> = {
      NODE_ENV: "production",
      LOG_LEVEL: "info",
      HOST: "0.0.0.0",
      PORT: String(d.port),
      SHUTDOWN_DELAY: SHUTDOWN.shutdownDelay,
      DRAIN_TIMEOUT: SHUTDOWN.drainTimeout,
      NODE_OPTIONS: nodeOptions(kind),
      OTEL_EXPORTER_OTLP_ENDPOINT: OTLP_COLLECTOR.url,
      OTEL_SERVICE_NAME: d.name,
    };
    if (kind === "gateway") {
      const subgraphs = list.filter((s) => s.kind === "subgraph");
      calls = { ...Object.fromEntries(subgraphs.map((s) => [s.name, subgraphUrlVariable(s.name)])), ...calls };
      const users = byName.get("users");
      if (users) env["JWKS_URL"] = serviceUrl("users", users.port, "/.well-known/jwks.json");
    }
    for (const [target, variable] of Object.entries(calls)) {
      const callee = byName.get(target);
      if (!callee) throw new Error(`${d.name} calls ${target}, which is not a deployable (scripts/topology.ts)`);
      env[variable] = serviceUrl(target, callee.port);
    }
    const redis = needs.redis ?? kind === "worker";
    if (redis) env["REDIS_URL"] = REDIS_URL;
    Object.assign(env, needs.env);
    const target: DeployTarget = {
      name: d.name,
      kind,
      service,
      workspace,
      port: d.port,
      image: `${IMAGE_REGISTRY}/ecom-${service}:${tag}`,
      command: ["node", kind === "worker" ? "dist/worker.js" : "dist/index.js"],
      database,
      redis,
      calls,
      env: Object.fromEntries(Object.entries(env).sort(([a], [b]) => a.localeCompare(b))),
      secrets: [],
    };
    target.secrets = SECRET_VARIABLES.filter((s) => s.usedBy(target));
    return target;
  });
}

/** The image of a service's migration job (the Dockerfile's `migrate` stage). */
export const migrationImage = (service: string, root = ROOT) => `${IMAGE_REGISTRY}/ecom-${service}-migrate:${imageTag(root)}`;
