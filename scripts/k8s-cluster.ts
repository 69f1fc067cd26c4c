/**
 * The little the rollout scripts (k8s-blue-green.ts, k8s-canary.ts) need from a cluster, through `kubectl` (so
 * they use the operator's kubeconfig, context and credentials as-is): read an object as JSON, patch it.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

/** A Kubernetes object as kubectl prints it. */
export interface KubeObject {
  metadata: { name: string; generation?: number; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

/** Reads and patches objects of one namespace. */
export interface Cluster {
  get(kind: string, name: string): Promise<KubeObject>;
  /** A JSON merge patch (`kubectl patch --type merge`). */
  patch(kind: string, name: string, patch: object): Promise<void>;
}

/** Options of {@link kubectlCluster}. */
export interface KubectlOptions {
  /** @default "ecom" */
  namespace?: string;
  /** The kubectl binary. @default "kubectl" */
  kubectl?: string;
  /** `--context` to pass, if any. */
  context?: string;
}

/** A {@link Cluster} through kubectl. Errors carry kubectl's message. */
export function kubectlCluster(options: KubectlOptions = {}): Cluster {
  const run = async (args: string[]) => {
    const full = [...args, "--namespace", options.namespace ?? "ecom", ...(options.context ? ["--context", options.context] : [])];
    try {
      return (await promisify(execFile)(options.kubectl ?? "kubectl", full, { encoding: "utf8" })).stdout;
    } catch (error) {
      const stderr = String((error as { stderr?: unknown }).stderr ?? "").trim();
      throw new Error(`kubectl ${args.slice(0, 3).join(" ")} failed: ${stderr || (error as Error).message}`, { cause: error });
    }
  };
  return {
    async get(kind, name) {
      return JSON.parse(await run(["get", kind, name, "-o", "json"])) as KubeObject;
    },
    async patch(kind, name, patch) {
      await run(["patch", kind, name, "--type", "merge", "-p", JSON.stringify(patch)]);
    },
  };
}

/** Why a Deployment is not fully rolled out and ready, or undefined when it is. */
export function notReadyReason(deployment: KubeObject): string | undefined {
  const spec = (deployment.spec ?? {}) as { replicas?: number };
  const status = (deployment.status ?? {}) as {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
  };
  const name = deployment.metadata.name;
  const wanted = spec.replicas ?? 1;
  if (wanted < 1) return `${name} is scaled to 0`;
  if ((status.observedGeneration ?? 0) < (deployment.metadata.generation ?? 0))
    return `${name}: the controller has not seen the latest spec yet`;
  if ((status.updatedReplicas ?? 0) < wanted) return `${name}: ${status.updatedReplicas ?? 0}/${wanted} replicas run the latest spec`;
  if ((status.readyReplicas ?? 0) < wanted) return `${name}: ${status.readyReplicas ?? 0}/${wanted} replicas ready`;
  if ((status.availableReplicas ?? 0) < wanted) return `${name}: ${status.availableReplicas ?? 0}/${wanted} replicas available`;
  if ((status.replicas ?? 0) > wanted) return `${name}: ${status.replicas} replicas still terminating or rolling (${wanted} wanted)`;
  return undefined;
}

/** A duration flag (`30s`, `2m`, `500ms`) in milliseconds. */
export function parseDuration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(value.trim());
  if (!m) throw new Error(`not a duration: ${value} (use 500ms, 30s or 2m)`);
  return Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] as "ms" | "s" | "m"]);
}
