/**
 * `npm run show -- <pattern>`: each microservice pattern of the platform, shown working against a running
 * `npm start`, a few lines as it happens; exit 1 when what it shows does not happen (docs/patterns/).
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import { loadShowEnv } from "./env.ts";
import { NotAvailable, Show, ShowFailure } from "./lib.ts";
import { showBreaker } from "./breaker.ts";
import { showCanary } from "./canary.ts";
import { showCommunication } from "./communication.ts";
import { showConfig } from "./config.ts";
import { showDiscovery } from "./discovery.ts";
import { showGateway } from "./gateway.ts";
import { showRatelimit } from "./ratelimit.ts";
import { showSaga } from "./saga.ts";
import { showSplitting } from "./splitting.ts";

/** The shows, in the order of docs/patterns/index.md. */
export const SHOWS: Record<string, { what: string; run: (show: Show) => Promise<void> }> = {
  splitting: { what: "subgraphs, entities owned and extended, a database role refused another service's data", run: showSplitting },
  communication: { what: "a query plan across subgraphs; one event from outbox through queues to consumers", run: showCommunication },
  discovery: { what: "instances appearing in and leaving the service registry, the gateway's traffic moving", run: showDiscovery },
  config: { what: "a limit changed live with npm run config, the gateway different the next second, rolled back", run: showConfig },
  gateway: { what: "auth refusals, query limits refusing a depth bomb, signed subgraph calls", run: showGateway },
  breaker: { what: "a subgraph killed, its breaker OPEN, partial answers, HALF_OPEN probes, CLOSED again", run: showBreaker },
  ratelimit: { what: "a burst refused with 429 and Retry-After, the bucket refilling", run: showRatelimit },
  saga: { what: "a declined checkout compensating step by step; a TCC reservation expiring", run: showSaga },
  canary: { what: "a 90/10 split of products' calls between stable instances and a v2 canary, with the counts", run: showCanary },
};

const usage = () =>
  `Usage: npm run show -- <pattern>   (against a running \`npm start\`; see docs/patterns/index.md)\n` +
  Object.entries(SHOWS)
    .map(([name, s]) => `  ${name.padEnd(14)} ${s.what}`)
    .join("\n") +
  "\n";

/** Runs one show; resolves with the exit code (0 shown, 1 not seen or not available, 2 usage). */
export async function main(argv: readonly string[]): Promise<number> {
  const name = argv.find((a) => !a.startsWith("-"));
  const entry = name === undefined ? undefined : SHOWS[name];
  if (!entry) {
    process.stderr.write(`${name === undefined ? "" : `no pattern "${name}". `}${usage()}`);
    return 2;
  }
  const show = new Show(loadShowEnv());
  const stop = () => void show.cleanup().then(() => process.exit(130));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  show.step(`${name}: ${entry.what} (gateway ${show.env.gatewayUrl})`);
  try {
    await entry.run(show);
    await show.cleanup();
    show.say(`OK: ${name} shown`);
    return 0;
  } catch (error) {
    await show.cleanup();
    if (error instanceof NotAvailable) process.stdout.write(`not available: ${error.message}\n`);
    else if (error instanceof ShowFailure) process.stdout.write(`FAILED: ${error.message}\n`);
    else process.stdout.write(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
