/**
 * Watches the supergraph file and hands each new version to `reload` (SupergraphControl.reload): the watcher only
 * notices changes and reads the file; validation, swapping, logging and metrics are the reload's.
 */
import { readFile, unwatchFile, watchFile, type Stats } from "node:fs";
import path from "node:path";
import type { Logger } from "@ecom/observability";

/** Options of {@link watchSupergraphFile}. */
export interface SupergraphFileWatcherOptions {
  /** The supergraph file (a relative path is resolved from the working directory). */
  file: string;
  /** Validates and swaps in an SDL; a rejection (refused SDL) is expected and already logged by it. */
  reload: (sdl: string, source: string) => Promise<unknown>;
  logger: Logger;
  /**
   * How often the file is looked at. Polling (`fs.watchFile`, a `stat` per interval) rather than inotify
   * (`fs.watch`): it follows what a path points to, so it sees editors that write a new file and rename it over the
   * old one, and Kubernetes ConfigMap volumes, which swap a symlinked directory; inotify watches lose track of both.
   * @default 1000
   */
  intervalMs?: number;
  /**
   * After a change is seen, wait this long without further changes before reading, so a file being written
   * in several chunks is read once, whole.
   * @default 100
   */
  settleMs?: number;
}

/** A running watcher. */
export interface SupergraphFileWatcher {
  /** Stops watching (a reload already running finishes). Idempotent. */
  close(): void;
}

const changed = (a: Stats, b: Stats) => a.mtimeMs !== b.mtimeMs || a.size !== b.size || a.ino !== b.ino || a.nlink !== b.nlink;

/** Starts watching `options.file`; each settled change is read and passed to `options.reload`, one at a time. */
export function watchSupergraphFile(options: SupergraphFileWatcherOptions): SupergraphFileWatcher {
  const file = path.resolve(options.file);
  const logger = options.logger.child({ component: "supergraph-watcher", file });
  const settleMs = options.settleMs ?? 100;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;
  let closed = false;

  const readAndReload = () => {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    readFile(file, "utf8", (error, sdl) => {
      const done = () => {
        running = false;
        if (again) {
          again = false;
          readAndReload();
        }
      };
      if (error) {
        // Deleted or being replaced: the next change brings it back. The current supergraph keeps serving.
        logger.error({ err: error }, "cannot read the supergraph file; still serving the previous supergraph");
        done();
        return;
      }
      // Refusals are logged (and counted) by reload itself.
      options.reload(sdl, file).then(done, done);
    });
  };

  const listener = (current: Stats, previous: Stats) => {
    if (!changed(current, previous)) return;
    clearTimeout(timer);
    timer = setTimeout(readAndReload, settleMs);
  };
  // persistent: false: the watcher never keeps the process alive on its own.
  watchFile(file, { interval: options.intervalMs ?? 1000, persistent: false }, listener);
  logger.debug({ intervalMs: options.intervalMs ?? 1000 }, "watching the supergraph file");
  // watchFile takes its first stat asynchronously: a change made between the boot-time read and that stat would
  // never be reported. One read now closes the gap (an SDL identical to the served one is a no-op).
  timer = setTimeout(readAndReload, settleMs);

  return {
    close() {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      unwatchFile(file, listener);
    },
  };
}
