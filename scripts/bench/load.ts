/**
 * One measured run: autocannon against one gateway with one query for a fixed time, every answer compared with
 * the reference answer (a fast gateway that answers wrongly must not win), the gateway's CPU and the subgraph
 * requests it caused counted over the same window.
 */
import autocannon from "autocannon";
import { treeCpuSeconds } from "./cpu.ts";

/** What a run measured. */
export interface RunResult {
  /** Correct answers per second. */
  rps: number;
  p50: number;
  p99: number;
  /** Answers received, correct or not. */
  responses: number;
  /** Answers that differ from the reference, non-2xx statuses, socket errors and timeouts. */
  wrong: number;
  errors: number;
  /** CPU cores the gateway (process tree) used on average over the run. */
  cpuCores: number;
  /** Gateway CPU per answer, ms. */
  cpuMsPerResponse: number;
  /** Subgraph HTTP requests per answer. */
  subgraphRequestsPerResponse: number;
}

/** Options of {@link measure}. */
export interface MeasureOptions {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** The exact answer body expected; a different one counts as wrong. */
  expected: string;
  durationSeconds: number;
  connections: number;
  /** The gateway's pid (CPU is read for it and its descendants). */
  pid: number;
  /** Total `/graphql` requests the subgraphs have received so far. */
  subgraphRequests: () => Promise<number>;
}

/** Runs autocannon; see the module comment. */
export async function measure(options: MeasureOptions): Promise<RunResult> {
  let wrong = 0;
  const subgraphBefore = await options.subgraphRequests();
  const cpuBefore = treeCpuSeconds(options.pid);
  const started = process.hrtime.bigint();
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.durationSeconds,
    requests: [
      {
        method: "POST",
        headers: { "content-type": "application/json", ...options.headers },
        body: options.body,
        onResponse: (status: number, body: string) => {
          if (status !== 200 || body !== options.expected) wrong++;
        },
      },
    ],
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = treeCpuSeconds(options.pid) - cpuBefore;
  const subgraphRequests = (await options.subgraphRequests()) - subgraphBefore;
  const responses = result.requests.total;
  const errors = result.errors + result.timeouts + result.non2xx;
  return {
    rps: Math.max(0, responses - wrong) / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    responses,
    wrong: wrong + result.errors + result.timeouts,
    errors,
    cpuCores: cpu / seconds,
    cpuMsPerResponse: responses > 0 ? (cpu * 1000) / responses : 0,
    subgraphRequestsPerResponse: responses > 0 ? subgraphRequests / responses : 0,
  };
}
