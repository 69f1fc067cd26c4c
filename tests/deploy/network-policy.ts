/**
 * Kubernetes NetworkPolicy semantics, enough to ask "may pod A open a connection to pod B on port P?" of rendered
 * policies (matchLabels selectors, the form the manifests use). A connection is allowed when the destination's
 * ingress and the source's egress both allow it; a pod that no policy of a direction selects is open in that
 * direction.
 */
import { selects, type K8sObject, type NetworkPolicySpec } from "../../scripts/k8s-check.ts";

/** A pod, by its labels and the labels of its namespace. */
export interface Pod {
  labels: Record<string, string>;
  namespace: string;
  namespaceLabels?: Record<string, string>;
}

interface Policy {
  namespace: string;
  spec: NetworkPolicySpec;
}

type Rule = NonNullable<NetworkPolicySpec["ingress"]>[number];
type Peer = NonNullable<Rule["from"]>[number];

function peerMatches(peer: Peer, policyNamespace: string, pod: Pod): boolean {
  if (peer.ipBlock) return false;
  const nsLabels = { "kubernetes.io/metadata.name": pod.namespace, ...pod.namespaceLabels };
  const inNamespace = peer.namespaceSelector ? selects(peer.namespaceSelector, nsLabels) : pod.namespace === policyNamespace;
  return inNamespace && (peer.podSelector ? selects(peer.podSelector, pod.labels) : true);
}

const portMatches = (rule: Rule, port: number) => !rule.ports || rule.ports.some((p) => p.port === undefined || p.port === port);

function direction(policies: Policy[], subject: Pod, type: "Ingress" | "Egress", other: Pod, port: number): boolean {
  const applying = policies.filter(
    (p) =>
      p.namespace === subject.namespace &&
      selects(p.spec.podSelector, subject.labels) &&
      (p.spec.policyTypes ?? ["Ingress"]).includes(type),
  );
  if (applying.length === 0) return true;
  return applying.some((p) =>
    ((type === "Ingress" ? p.spec.ingress : p.spec.egress) ?? []).some((rule) => {
      const peers = type === "Ingress" ? rule.from : rule.to;
      return portMatches(rule, port) && (!peers || peers.some((peer) => peerMatches(peer, p.namespace, other)));
    }),
  );
}

/** The policies of a rendered overlay. */
export function policiesOf(objects: K8sObject[]): Policy[] {
  return objects
    .filter((o) => o.kind === "NetworkPolicy")
    .map((o) => ({ namespace: o.metadata.namespace ?? "default", spec: (o["spec"] ?? {}) as NetworkPolicySpec }));
}

/** True when `from` may connect to `to` on `port`. */
export function allowed(policies: Policy[], from: Pod, to: Pod, port: number): boolean {
  return direction(policies, to, "Ingress", from, port) && direction(policies, from, "Egress", to, port);
}
