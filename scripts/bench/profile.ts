/**
 * A summary of a V8 CPU profile (`node --cpu-prof`): self time by package and by function, and total (inclusive)
 * time of the repository's own functions, to see where a gateway's time goes without opening DevTools.
 *
 * A profile covers the whole life of the process: loading modules, warm-up, the other gateways' turns. Given the
 * windows in which this gateway was measured, only the samples inside them are counted, so start-up work does not
 * hide what a request costs.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

/** A `.cpuprofile` (the parts used here). */
export interface CpuProfile {
  nodes: ProfileNode[];
  /** Microseconds of the monotonic clock (the one `process.hrtime` reads, on Linux). */
  startTime: number;
  endTime: number;
  samples?: number[];
  /** Microseconds between consecutive samples (the first from `startTime`). */
  timeDeltas?: number[];
}

/** A span of the monotonic clock, in microseconds (`process.hrtime.bigint() / 1000n`). */
export interface ProfileWindow {
  from: number;
  to: number;
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

const isIdle = (node: ProfileNode) => IDLE.has(node.callFrame.functionName) && node.callFrame.url === "";

/** Hits per node id: `hitCount`, or counted from the samples inside `windows` when given. */
function hitsOf(profile: CpuProfile, windows: readonly ProfileWindow[] | undefined): Map<number, number> {
  const hits = new Map<number, number>();
  if (!windows || !profile.samples || !profile.timeDeltas) {
    for (const node of profile.nodes) hits.set(node.id, node.hitCount ?? 0);
    return hits;
  }
  let time = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    time += profile.timeDeltas[i]!;
    if (!windows.some((w) => time >= w.from && time <= w.to)) continue;
    const id = profile.samples[i]!;
    hits.set(id, (hits.get(id) ?? 0) + 1);
  }
  return hits;
}

/**
 * Self time per package and per function, and total time of our functions, as text; percentages are of the busy
 * (non-idle) samples, inside `windows` when given.
 */
export function summarizeProfile(profile: CpuProfile, options: { top?: number; windows?: readonly ProfileWindow[] } = {}): string {
  const top = options.top ?? 20;
  const hits = hitsOf(profile, options.windows);
  const all = [...hits.values()].reduce((n, h) => n + h, 0);
  const totalMs = options.windows
    ? options.windows.reduce((ms, w) => ms + (w.to - w.from) / 1000, 0)
    : (profile.endTime - profile.startTime) / 1000;
  const msPerSample = all > 0 ? totalMs / all : 0;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const nameOf = (node: ProfileNode) => {
    const { functionName, url, lineNumber } = node.callFrame;
    return `${functionName || "(anonymous)"}  ${ownerOf(url)}${url ? `:${lineNumber + 1}` : ""}`;
  };
  let samples = 0;
  const byOwner = new Map<string, number>();
  const byFunction = new Map<string, number>();
  // Inclusive: each function counted once per sample, however deep it recurses.
  const inclusive = new Map<string, number>();
  for (const [id, count] of hits) {
    const node = byId.get(id);
    if (!node || count === 0 || isIdle(node)) continue;
    samples += count;
    const owner = ownerOf(node.callFrame.url);
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + count);
    byFunction.set(nameOf(node), (byFunction.get(nameOf(node)) ?? 0) + count);
    const seen = new Set<string>();
    for (let at: ProfileNode | undefined = node; at; at = byId.get(parentOf.get(at.id) ?? -1)) {
      if (!ownerOf(at.callFrame.url).startsWith("ours:")) continue;
      const name = nameOf(at);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + count);
    }
  }
  const rows = (map: Map<string, number>) =>
    [...map]
      .sort((x, y) => y[1] - x[1])
      .slice(0, top)
      .map(
        ([name, count]) =>
          `  ${((count / samples) * 100).toFixed(1).padStart(5)}%  ${(count * msPerSample).toFixed(0).padStart(7)} ms  ${name}`,
      );
  return [
    `${samples} busy samples of ${all} over ${(totalMs / 1000).toFixed(1)} s (${((samples / Math.max(1, all)) * 100).toFixed(0)}% busy)${options.windows ? ", inside the measured runs" : ""}`,
    "self time by package (% of busy):",
    ...rows(byOwner),
    "self time by function:",
    ...rows(byFunction),
    "total time of our functions (self and what they call):",
    ...rows(inclusive),
  ].join("\n");
}
