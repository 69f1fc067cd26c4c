/**
 * The processes of a running `npm start`, found by the port they listen on. `npm start` has no control
 * interface: a show that needs a process gone sends it a signal, as the kernel's OOM killer or an operator would,
 * and `npm start`'s supervisor (scripts/supervisor.ts) restarts it after its backoff.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { ShowFailure } from "./lib.ts";

const run = promisify(execFile);

/**
 * The pid of the process listening on TCP `port` on this machine, from iproute2's `ss -ltnpH` (Linux): the kernel
 * knows which socket a process holds, and `ss` is how Debian exposes it (lsof and fuser need the same /proc walk).
 */
export async function listenerPid(port: number): Promise<number> {
  let stdout: string;
  try {
    ({ stdout } = await run("ss", ["-ltnpH", `sport = :${port}`]));
  } catch (error) {
    throw new ShowFailure(
      `could not list listening sockets with \`ss\` (${(error as Error).message}): install iproute2 (apt-get install -y iproute2)`,
    );
  }
  const pid = /pid=(\d+)/.exec(stdout)?.[1];
  if (!pid) throw new ShowFailure(`no process of this user listens on port ${port}: is \`npm start\` running here (START_BASE_PORT)?`);
  return Number(pid);
}
