/**
 * The Kubernetes objects of every deployable, built from `scripts/deploy-spec.ts`: the repetitive part of `k8s/`
 * (a Deployment, Service, ServiceAccount, ConfigMap, PodDisruptionBudget and HorizontalPodAutoscaler per
 * deployable, a migration Job per database, the NetworkPolicies and the Secret templates). `npm run k8s:generate`
 * writes them as YAML; the overlays (hand-written kustomize patches) adjust them per environment.
 */
import {
  NAMESPACE,
  OTLP_COLLECTOR,
  RESOURCES,
  SECRET_VARIABLES,
  SHUTDOWN,
  deployTargets,
  migrationImage,
  secretName,
  type DeployTarget,
} from "./deploy-spec.ts";

/** A Kubernetes object as plain data. */
export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; [key: string]: unknown }; [key: string]: unknown };

export const LABELS = {
  name: "app.kubernetes.io/name",
  component: "app.kubernetes.io/component",
  partOf: "app.kubernetes.io/part-of",
  /** The service a pod belongs to (a subgraph, its worker and its migration job share it): its database's clients. */
  service: "ecom.io/service",
  /** `stable` or `canary` (Istio subsets). */
  track: "ecom.io/track",
  /** `blue` or `green` (blue-green overlay). */
  color: "ecom.io/color",
  /** `"true"` on pods that talk to Redis. */
  redis: "ecom.io/redis",
  /** On database pods (or the selector an overlay gives an external database): the service it belongs to. */
  database: "ecom.io/database",
} as const;

/** The namespace and pod labels of Prometheus, allowed to scrape `/metrics`. */
export const PROMETHEUS = { namespace: "monitoring", podLabels: { [LABELS.name]: "prometheus" } } as const;

/** Replicas and autoscaling bounds by kind (overlays change them). */
const SCALE = {
  gateway: { replicas: 2, min: 2, max: 10 },
  subgraph: { replicas: 2, min: 2, max: 6 },
  worker: { replicas: 1, min: 1, max: 4 },
} as const;

/** Options of {@link workloadObjects}: a variant of a deployable's workload (blue-green colours, canary track). */
export interface WorkloadVariant {
  /** Appended to the object names, e.g. `-blue`. @default "" */
  suffix?: string;
  /** Labels added to the selector and the pods, e.g. `{ "ecom.io/color": "blue" }`. */
  labels?: Record<string, string>;
  /** @default "stable" */
  track?: string;
  replicas?: number;
  minReplicas?: number;
  maxReplicas?: number;
}

const metadata = (name: string, labels: Record<string, string>, extra: Record<string, unknown> = {}) => ({
  name,
  namespace: NAMESPACE,
  labels,
  ...extra,
});

function commonLabels(t: DeployTarget): Record<string, string> {
  return { [LABELS.name]: t.name, [LABELS.component]: t.kind, [LABELS.partOf]: "ecom", [LABELS.service]: t.service };
}

const restrictedContainer = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ["ALL"] },
};

// The image's `node` user (uid/gid 1000 in the official Node images).
const podSecurity = { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } };

function secretEnv(t: DeployTarget) {
  return t.secrets.map((s) => ({
    name: s.variable,
    valueFrom: { secretKeyRef: { name: secretName(s, t.service), key: s.variable } },
  }));
}

/** The Deployment, PodDisruptionBudget and HorizontalPodAutoscaler of a deployable (or of one variant of it). */
export function workloadObjects(t: DeployTarget, variant: WorkloadVariant = {}): K8sObject[] {
  const name = `${t.name}${variant.suffix ?? ""}`;
  const scale = SCALE[t.kind];
  const selector = { [LABELS.name]: t.name, [LABELS.track]: variant.track ?? "stable", ...variant.labels };
  const podLabels = { ...commonLabels(t), ...selector, ...(t.redis ? { [LABELS.redis]: "true" } : {}) };
  const labels = { ...commonLabels(t), ...variant.labels };
  const http = { path: "/health/live", port: "http" };
  const deployment: K8sObject = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: metadata(name, labels),
    spec: {
      replicas: variant.replicas ?? scale.replicas,
      revisionHistoryLimit: 5,
      // Never below the wanted capacity during a rollout: new pods must be ready before old ones go.
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: 0 } },
      selector: { matchLabels: selector },
      template: {
        metadata: {
          labels: podLabels,
          annotations: { "prometheus.io/scrape": "true", "prometheus.io/port": String(t.port), "prometheus.io/path": "/metrics" },
        },
        spec: {
          serviceAccountName: t.name,
          // The processes never call the Kubernetes API.
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: SHUTDOWN.terminationGracePeriodSeconds,
          securityContext: podSecurity,
          // A node or zone outage must not take a whole deployable down (soft: single-zone clusters still schedule).
          topologySpreadConstraints: ["kubernetes.io/hostname", "topology.kubernetes.io/zone"].map((topologyKey) => ({
            maxSkew: 1,
            topologyKey,
            whenUnsatisfiable: "ScheduleAnyway",
            labelSelector: { matchLabels: selector },
          })),
          containers: [
            {
              name: t.name,
              image: t.image,
              ...(t.kind === "worker" ? { command: t.command } : {}),
              ports: [{ name: "http", containerPort: t.port, protocol: "TCP" }],
              envFrom: [{ configMapRef: { name: `ecom-${t.name}` } }],
              ...(t.secrets.length > 0 ? { env: secretEnv(t) } : {}),
              resources: RESOURCES[t.kind],
              // Liveness only says the event loop answers; readiness also checks dependencies (and turns false on
              // SIGTERM), so a dependency outage takes pods out of rotation without restarting them.
              startupProbe: { httpGet: http, periodSeconds: 2, timeoutSeconds: 2, failureThreshold: 30 },
              livenessProbe: { httpGet: http, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
              readinessProbe: {
                httpGet: { path: "/health/ready", port: "http" },
                periodSeconds: 5,
                timeoutSeconds: 3,
                failureThreshold: 2,
                successThreshold: 1,
              },
              // Endpoints are removed from Services while this pause runs; SIGTERM comes after it.
              lifecycle: { preStop: { exec: { command: ["sleep", String(SHUTDOWN.preStopSeconds)] } } },
              securityContext: restrictedContainer,
              volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
            },
          ],
          volumes: [{ name: "tmp", emptyDir: { sizeLimit: "64Mi" } }],
        },
      },
    },
  };
  const pdb: K8sObject = {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: metadata(name, labels),
    spec: { maxUnavailable: 1, selector: { matchLabels: selector } },
  };
  const hpa: K8sObject = {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: metadata(name, labels),
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name },
      minReplicas: variant.minReplicas ?? scale.min,
      maxReplicas: variant.maxReplicas ?? scale.max,
      metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } }],
      behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
    },
  };
  return [deployment, pdb, hpa];
}

/** The migration Job of a service with a database: `prisma migrate deploy`, run before its Deployment rolls out. */
export function migrationJob(t: DeployTarget): K8sObject {
  const name = `${t.service}-migrate`;
  const labels = { [LABELS.name]: name, [LABELS.component]: "migration", [LABELS.partOf]: "ecom", [LABELS.service]: t.service };
  const database = SECRET_VARIABLES.find((s) => s.variable === "DATABASE_URL")!;
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: metadata(name, labels, {
      // GitOps tools run it before syncing the Deployments (README "Deploy to Kubernetes" for kubectl).
      annotations: { "argocd.argoproj.io/hook": "PreSync", "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation" },
    }),
    spec: {
      backoffLimit: 3,
      activeDeadlineSeconds: 600,
      ttlSecondsAfterFinished: 86_400,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "Never",
          serviceAccountName: t.name,
          automountServiceAccountToken: false,
          securityContext: podSecurity,
          containers: [
            {
              name: "migrate",
              image: migrationImage(t.service),
              env: [
                { name: "DATABASE_URL", valueFrom: { secretKeyRef: { name: secretName(database, t.service), key: "DATABASE_URL" } } },
                // npm and Prisma write caches under HOME; the root filesystem is read-only.
                { name: "HOME", value: "/tmp" },
              ],
              resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
              securityContext: restrictedContainer,
              volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
            },
          ],
          volumes: [{ name: "tmp", emptyDir: { sizeLimit: "256Mi" } }],
        },
      },
    },
  };
}

/** ServiceAccount, ConfigMap, Service and workload of one deployable, plus its migration Job. */
export function deployableObjects(t: DeployTarget): K8sObject[] {
  const labels = commonLabels(t);
  const objects: K8sObject[] = [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: metadata(t.name, labels), automountServiceAccountToken: false },
    { apiVersion: "v1", kind: "ConfigMap", metadata: metadata(`ecom-${t.name}`, labels), data: t.env },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: metadata(t.name, labels),
      spec: {
        type: "ClusterIP",
        // Every track (stable, canary) and colour behind one name; the blue-green overlay narrows it to one colour.
        selector: { [LABELS.name]: t.name },
        ports: [{ name: "http", port: t.port, targetPort: "http", protocol: "TCP" }],
      },
    },
    ...workloadObjects(t),
  ];
  if (t.kind === "subgraph" && t.database) objects.push(migrationJob(t));
  return objects;
}

const port = (n: number) => ({ port: n, protocol: "TCP" });
const podsNamed = (names: string[]) => names.map((name) => ({ podSelector: { matchLabels: { [LABELS.name]: name } } }));
const prometheusPeer = {
  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": PROMETHEUS.namespace } },
  podSelector: { matchLabels: PROMETHEUS.podLabels },
};

/**
 * NetworkPolicies: deny everything, then allow DNS, traces to the OTLP collector, what each deployable calls, each
 * service's own database, Redis for its clients, and Prometheus scraping. Subgraphs accept only the gateway (and declared callers).
 */
export function networkPolicies(targets: DeployTarget[]): K8sObject[] {
  const policy = (name: string, spec: Record<string, unknown>): K8sObject => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: metadata(name, { [LABELS.partOf]: "ecom" }),
    spec,
  });
  const objects: K8sObject[] = [
    policy("default-deny", { podSelector: {}, policyTypes: ["Ingress", "Egress"] }),
    policy("allow-dns", {
      podSelector: {},
      policyTypes: ["Egress"],
      egress: [
        {
          to: [
            {
              namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
              podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
            },
          ],
          ports: [
            { port: 53, protocol: "UDP" },
            { port: 53, protocol: "TCP" },
          ],
        },
      ],
    }),
    policy("allow-otlp", {
      podSelector: {},
      policyTypes: ["Egress"],
      egress: [
        {
          to: [
            {
              namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": OTLP_COLLECTOR.namespace } },
              podSelector: { matchLabels: OTLP_COLLECTOR.podLabels },
            },
          ],
          ports: [port(OTLP_COLLECTOR.port)],
        },
      ],
    }),
  ];
  const byName = new Map(targets.map((t) => [t.name, t]));
  for (const t of targets) {
    const callers = targets.filter((c) => Object.hasOwn(c.calls, t.name)).map((c) => c.name);
    const ingress =
      t.kind === "gateway"
        ? // Clients come through the ingress controller or the mesh's ingress gateway, from any namespace.
          [{ ports: [port(t.port)] }]
        : [{ from: [...podsNamed(callers), prometheusPeer], ports: [port(t.port)] }];
    const egress = Object.keys(t.calls).map((callee) => ({ to: podsNamed([callee]), ports: [port(byName.get(callee)!.port)] }));
    objects.push(
      policy(t.name, {
        podSelector: { matchLabels: { [LABELS.name]: t.name } },
        policyTypes: egress.length > 0 ? ["Ingress", "Egress"] : ["Ingress"],
        ingress,
        ...(egress.length > 0 ? { egress } : {}),
      }),
    );
  }
  for (const service of [...new Set(targets.filter((t) => t.database).map((t) => t.service))]) {
    const clients = { matchLabels: { [LABELS.service]: service } };
    const database = { matchLabels: { [LABELS.database]: service } };
    // Both ends: the service's pods may reach only their own database, and the database only admits them.
    objects.push(
      policy(`${service}-database-clients`, {
        podSelector: clients,
        policyTypes: ["Egress"],
        egress: [{ to: [{ podSelector: database }], ports: [port(5432)] }],
      }),
      policy(`${service}-database`, {
        podSelector: database,
        policyTypes: ["Ingress"],
        ingress: [{ from: [{ podSelector: clients }], ports: [port(5432)] }],
      }),
    );
  }
  const redisPods = { matchLabels: { [LABELS.name]: "redis" } };
  const redisClients = { matchLabels: { [LABELS.redis]: "true" } };
  objects.push(
    policy("redis-clients", {
      podSelector: redisClients,
      policyTypes: ["Egress"],
      egress: [{ to: [{ podSelector: redisPods }], ports: [port(6379)] }],
    }),
    policy("redis", {
      podSelector: redisPods,
      policyTypes: ["Ingress"],
      ingress: [{ from: [{ podSelector: redisClients }], ports: [port(6379)] }],
    }),
  );
  return objects;
}

/** The Secret templates: every secret variable, grouped by Secret, with empty values and how to fill them. */
export function secretTemplates(targets: DeployTarget[]): Array<{ object: K8sObject; howTo: Record<string, string> }> {
  const secrets = new Map<string, { keys: Map<string, string>; service: string }>();
  for (const t of targets) {
    for (const s of t.secrets) {
      const name = secretName(s, t.service);
      const entry = secrets.get(name) ?? { keys: new Map(), service: t.service };
      entry.keys.set(s.variable, s.howTo(t.service));
      secrets.set(name, entry);
    }
  }
  return [...secrets.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, { keys }]) => ({
      object: {
        apiVersion: "v1",
        kind: "Secret",
        metadata: metadata(name, { [LABELS.partOf]: "ecom" }),
        type: "Opaque",
        stringData: Object.fromEntries([...keys.keys()].map((k) => [k, ""])),
      },
      howTo: Object.fromEntries(keys),
    }));
}

export { deployTargets };
