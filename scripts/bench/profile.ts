/**
 * A summary of a V8 CPU profile (`node --cpu-prof`): self time by package and by function, to see where a
 * gateway's time goes without opening DevTools.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** A `.cpuprofile` (the parts used here). */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

/** Where a script belongs: `<package>` for node_modules, `ours: <dir>` for the repo, `node` for Node's own. */
export function ownerOf(url: string): string {
  if (url === "") return "(native / GC / idle)";
  if (url.startsWith("node:")) return "node";
  const modules = url.lastIndexOf("/node_modules/");
  if (modules >= 0) {
    const rest = url.slice(modules + "/node_modules/".length).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const repo = /\/(gateway|packages\/[^/]+|scripts|subgraphs\/[^/]+)\//.exec(url);
  return repo ? `ours: ${repo[1]}` : url;
}

// Samples taken while the process waited: not time it spent.
const IDLE = new Set(["(idle)", "(program)"]);

/** Self time per package and per function, as text; percentages are of the busy (non-idle) samples. */
export function summarizeProfile(profile: CpuProfile, top = 20): string {
  const all = profile.nodes.reduce((n, node) => n + (node.hitCount ?? 0), 0);
  const totalMs = (profile.endTime - profile.startTime) / 1000;
  const msPerSample = all > 0 ? totalMs / all : 0;
  const busy = profile.nodes.filter((node) => !IDLE.has(node.callFrame.functionName) || node.callFrame.url !== "");
  const samples = busy.reduce((n, node) => n + (node.hitCount ?? 0), 0);
  const byOwner = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const node of busy) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const owner = ownerOf(url);
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + hits);
    const name = `${functionName || "(anonymous)"}  ${owner}${url ? `:${lineNumber + 1}` : ""}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + hits);
  }
  const rows = (map: Map<string, number>) =>
    [...map]
      .sort((x, y) => y[1] - x[1])
      .slice(0, top)
      .map(
        ([name, hits]) =>
          `  ${((hits / samples) * 100).toFixed(1).padStart(5)}%  ${(hits * msPerSample).toFixed(0).padStart(7)} ms  ${name}`,
      );
  return [
    `${samples} busy samples of ${all} over ${(totalMs / 1000).toFixed(1)} s (${((samples / Math.max(1, all)) * 100).toFixed(0)}% busy)`,
    "self time by package (% of busy):",
    ...rows(byOwner),
    "self time by function:",
    ...rows(byFunction),
  ].join("\n");
}
