/**
 * CPU time of a process and its descendants, from /proc (Linux): what a gateway costs, whatever it spawned
 * (tsx runs the gateway in a child process; Hive Gateway may fork workers).
 */
import { readdirSync, readFileSync } from "node:fs";

// sysconf(_SC_CLK_TCK) is 100 on every Linux this runs on; /proc reports utime and stime in those ticks.
const TICKS_PER_SECOND = 100;

function statOf(pid: number): { ppid: number; ticks: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is in parentheses and may contain spaces: split after the last ")".
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    // After the name: state(3) ppid(4) ... utime(14) stime(15), i.e. indexes 1 and 11, 12 here.
    return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined;
  }
}

/** Seconds of CPU (user + system) used so far by `pid` and every live descendant. */
export function treeCpuSeconds(pid: number): number {
  const children = new Map<number, number[]>();
  const ticks = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    const p = Number(entry);
    if (!Number.isInteger(p)) continue;
    const stat = statOf(p);
    if (!stat) continue;
    ticks.set(p, stat.ticks);
    const list = children.get(stat.ppid) ?? [];
    list.push(p);
    children.set(stat.ppid, list);
  }
  let total = 0;
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.pop()!;
    total += ticks.get(p) ?? 0;
    queue.push(...(children.get(p) ?? []));
  }
  return total / TICKS_PER_SECOND;
}
