/**
 * `npm run events -- <command>`: the operator's view of the queues and their dead letters.
 *
 *   queues                                   jobs per queue and state
 *   dlq list [--queue Q] [--json]            dead letters, newest first: queue, id, type, attempts, reason
 *   dlq show <id> [--queue Q]                one dead letter: the message, every attempt's error and stack
 *   dlq replay <id> [--queue Q] [--payload JSON | --payload-file FILE]
 *                                            back to waiting with its attempts reset (with a corrected payload)
 *   dlq replay --all [--queue Q]             every dead letter (of one queue)
 *   catalogue                                every message type, its queues and description
 *
 * Reads REDIS_URL (default redis://127.0.0.1:6379/0) and QUEUE_PREFIX (default ecom, as `npm start` uses).
 * Exit status: 0 done, 1 failed (the reason is printed), 2 usage.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { loadEnvOrExit, redisUrl, z } from "@ecom/config";
import { allQueueNames, catalogue, createDeadLetterStore, queuesFor, type MessageType } from "@ecom/events";

const USAGE = `usage: npm run events -- <command>
  queues                                     jobs per queue and state
  dlq list [--queue Q] [--json]              list dead letters
  dlq show <id> [--queue Q]                  show one dead letter (message, errors, stack traces)
  dlq replay <id> [--queue Q] [--payload JSON | --payload-file FILE]
  dlq replay --all [--queue Q]               replay every dead letter
  catalogue                                  message types, queues, descriptions
environment: REDIS_URL (redis://127.0.0.1:6379/0), QUEUE_PREFIX (ecom)`;

function usage(problem?: string): never {
  if (problem) process.stderr.write(`${problem}\n\n`);
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}

const env = loadEnvOrExit(
  "events CLI",
  z.object({ REDIS_URL: redisUrl().default("redis://127.0.0.1:6379/0"), QUEUE_PREFIX: z.string().min(1).default("ecom") }),
  process.env,
);

const { values, positionals } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        queue: { type: "string" },
        json: { type: "boolean", default: false },
        all: { type: "boolean", default: false },
        payload: { type: "string" },
        "payload-file": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    return usage((error as Error).message);
  }
})();

const out = (line = ""): void => void process.stdout.write(`${line}\n`);

function table(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  for (const row of rows) out(row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  "));
}

async function main(): Promise<void> {
  const [command, sub, arg] = positionals;
  if (values.help || !command) usage();
  if (command === "catalogue") {
    table([
      ["type", "kind", "queues", "description"],
      ...(Object.keys(catalogue) as MessageType[]).map((t) => [
        t,
        catalogue[t].kind,
        queuesFor(t).join(",") || "-",
        catalogue[t].description,
      ]),
    ]);
    return;
  }
  const redis = new Redis(env.REDIS_URL, { maxRetriesPerRequest: 1, connectTimeout: 3000, lazyConnect: true });
  redis.on("error", () => {});
  try {
    await redis.connect().catch((error: unknown) => {
      throw new Error(`Redis is not reachable at ${env.REDIS_URL} (${(error as Error).message}): start it, or set REDIS_URL.`, {
        cause: error,
      });
    });
    if (command === "queues") {
      const rows = [["queue", "waiting", "active", "delayed", "completed", "failed (dead letters)"]];
      for (const name of allQueueNames()) {
        const queue = new Queue(name, { connection: redis, prefix: env.QUEUE_PREFIX });
        const c = await queue.getJobCounts("waiting", "active", "delayed", "completed", "failed");
        rows.push([name, ...[c["waiting"], c["active"], c["delayed"], c["completed"], c["failed"]].map((n) => String(n ?? 0))]);
        await queue.close();
      }
      table(rows);
      return;
    }
    if (command !== "dlq") usage(`unknown command "${command}"`);
    const store = createDeadLetterStore({ connection: redis, prefix: env.QUEUE_PREFIX });
    try {
      if (values.queue !== undefined && !allQueueNames().includes(values.queue)) {
        throw new Error(`unknown queue "${values.queue}" (queues: ${allQueueNames().join(", ")})`);
      }
      const queue = values.queue;
      switch (sub) {
        case "list": {
          const letters = await store.list(queue === undefined ? {} : { queue });
          if (values.json) return out(JSON.stringify(letters, null, 2));
          if (letters.length === 0) return out(`no dead letters${queue ? ` in ${queue}` : ""} (prefix ${env.QUEUE_PREFIX})`);
          table([
            ["queue", "id", "type", "attempts", "failed at", "reason"],
            ...letters.map((d) => [d.queue, d.id, d.type, String(d.attempts), d.failedAt ?? "-", d.reason.split("\n")[0]!.slice(0, 160)]),
          ]);
          out(
            `\n${letters.length} dead letter${letters.length === 1 ? "" : "s"}. Inspect: npm run events -- dlq show <id>; replay: npm run events -- dlq replay <id>`,
          );
          return;
        }
        case "show": {
          if (!arg) usage("dlq show needs the id of a dead letter (see dlq list)");
          const letters = await store.show(arg, queue === undefined ? {} : { queue });
          if (letters.length === 0) throw new Error(`no dead letter ${arg}${queue ? ` in ${queue}` : ""} (see npm run events -- dlq list)`);
          if (values.json) return out(JSON.stringify(letters, null, 2));
          for (const d of letters) {
            out(`${d.queue} / ${d.id}`);
            out(`  type:        ${d.type}`);
            out(`  aggregate:   ${d.aggregateId ?? "-"}`);
            out(`  correlation: ${d.correlationId ?? "-"}`);
            out(`  added:       ${d.addedAt}`);
            out(`  failed:      ${d.failedAt ?? "-"} after ${d.attempts} attempt${d.attempts === 1 ? "" : "s"}`);
            out(`  reason:      ${d.reason}`);
            out(`  message:\n${JSON.stringify(d.data, null, 2).replace(/^/gm, "    ")}`);
            if (d.stacktrace.length > 0) out(`  stack traces:\n${d.stacktrace.map((s) => s.replace(/^/gm, "    ")).join("\n    --\n")}`);
            out();
          }
          return;
        }
        case "replay": {
          if (values.all) {
            const n = await store.replayAll(queue === undefined ? {} : { queue });
            return out(`replayed ${n} dead letter${n === 1 ? "" : "s"}`);
          }
          if (!arg) usage("dlq replay needs the id of a dead letter, or --all");
          let payload: unknown;
          const text = values.payload ?? (values["payload-file"] ? readFileSync(values["payload-file"], "utf8") : undefined);
          if (text !== undefined) {
            try {
              payload = JSON.parse(text);
            } catch (error) {
              throw new Error(`the corrected payload is not JSON: ${(error as Error).message}`, { cause: error });
            }
          }
          const queues = await store.replay(arg, {
            ...(queue === undefined ? {} : { queue }),
            ...(payload === undefined ? {} : { payload }),
          });
          if (queues.length === 0) throw new Error(`no dead letter ${arg}${queue ? ` in ${queue}` : ""} (see npm run events -- dlq list)`);
          return out(`replayed ${arg} in ${queues.join(", ")}${payload === undefined ? "" : " with the corrected payload"}`);
        }
        default:
          usage(sub ? `unknown dlq command "${sub}"` : "dlq needs a command: list, show or replay");
      }
    } finally {
      await store.close();
    }
  } finally {
    redis.disconnect();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`events: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
