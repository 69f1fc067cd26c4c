/**
 * Seeds the demo data set: runs each service's own `src/seed.ts` (its own data layer, its own database) as a
 * separate process. Idempotent. `npm run db:seed`; `npm start` runs it after the bootstrap.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadToolEnv } from "./env.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);

/** Subgraphs that have a seed (`subgraphs/<name>/src/seed.ts`). */
export function discoverSeeds(root = ROOT): Array<{ name: string; dir: string }> {
  const base = path.join(root, "subgraphs");
  if (!existsSync(base)) return [];
  return readdirSync(base, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(base, d.name, "src", "seed.ts")))
    .map((d) => ({ name: d.name, dir: path.join(base, d.name) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function runSeed(service: { name: string; dir: string }, databaseUrl: string): Promise<string> {
  const tsx = require.resolve("tsx/cli");
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tsx, "src/seed.ts"], {
      cwd: service.dir,
      env: { ...process.env, DATABASE_URL: databaseUrl, NODE_ENV: process.env["NODE_ENV"] ?? "development", LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(out.trim()) : reject(new Error(`${service.name} seed failed (exit ${code}):\n${out}`)),
    );
  });
}

/** Runs every service's seed, two at a time; `log` receives one line per finished seed. */
export async function seedAll(log: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<void> {
  const env = loadToolEnv();
  const queue = discoverSeeds();
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const out = await runSeed(next, env.databaseUrlFor(next.name));
      log(out || `${next.name}: seeded`);
    }
  };
  await Promise.all([worker(), worker()]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  seedAll().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
