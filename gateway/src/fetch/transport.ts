/**
 * The innermost stage: HTTP to the subgraphs over undici connection pools, one pool per subgraph origin, with
 * keep-alive.
 *
 * undici's dispatcher API (`Pool.dispatch()` with a handler that collects the answer) rather than `fetch()`: fetch
 * builds WHATWG Request, Headers and a web ReadableStream per call, which is most of its cost;
 * RemoteGraphQLDataSource's default (make-fetch-happen over node-fetch) is heavier still, and was measured at
 * about half of the stock gateway's CPU under load. Not `Pool.request()` either: it wraps every answer in a
 * Node Readable stream (and an AsyncResource) only for us to read it to the end at once; the handler below keeps
 * the chunks as they arrive, which measured about a fifth less client CPU per call. The data source reads only
 * `ok`, `status`, `headers.get`, `text()` and `json()`, so the answer is a small fetch-compatible response over
 * the fully read body (reading the body inside the attempt keeps it under the attempt's timeout, and lets
 * in-flight dedup hand one answer to several callers).
 */
import { STATUS_CODES } from "node:http";
import type { FetcherHeaders, FetcherResponse } from "@apollo/utils.fetcher";
import { Pool, type Dispatcher } from "undici";
import type { SubgraphFetch } from "../subgraph-datasource.ts";

/** Options of {@link createUndiciTransport}. */
export interface UndiciTransportOptions {
  /**
   * Connections per subgraph origin. Above the bulkhead's `maxConcurrent` they would never all be used; below it,
   * calls wait inside undici for a free connection.
   * @default 128
   */
  connections?: number;
  /**
   * Idle time after which a kept-alive connection is closed by us. Below Node's server default (5 s) so the
   * server never closes a connection we are about to reuse (that race surfaces as ECONNRESET on a POST).
   * @default 4000
   */
  keepAliveTimeoutMs?: number;
  /**
   * Time to establish a TCP connection; a subgraph that does not accept fails fast instead of using the whole
   * attempt timeout.
   * @default 2000
   */
  connectTimeoutMs?: number;
}

/** Response headers over undici's header object (lower-case names). */
class BufferedHeaders implements FetcherHeaders {
  private readonly map = new Map<string, string>();

  constructor(raw: Record<string, string | string[] | undefined>) {
    for (const name in raw) {
      const value = raw[name];
      if (value !== undefined) this.map.set(name.toLowerCase(), Array.isArray(value) ? value.join(", ") : value);
    }
  }
  append(name: string, value: string): void {
    const key = name.toLowerCase();
    const existing = this.map.get(key);
    this.map.set(key, existing === undefined ? value : `${existing}, ${value}`);
  }
  delete(name: string): void {
    this.map.delete(name.toLowerCase());
  }
  get(name: string): string | null {
    return this.map.get(name.toLowerCase()) ?? null;
  }
  has(name: string): boolean {
    return this.map.has(name.toLowerCase());
  }
  set(name: string, value: string): void {
    this.map.set(name.toLowerCase(), value);
  }
  entries(): IterableIterator<[string, string]> {
    return this.map.entries();
  }
  keys(): IterableIterator<string> {
    return this.map.keys();
  }
  values(): IterableIterator<string> {
    return this.map.values();
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.map.entries();
  }
}

/** A fetch-compatible response whose body was read in full; readable any number of times, and cheap to clone. */
export class BufferedResponse implements FetcherResponse {
  readonly redirected = false;
  readonly bodyUsed = false;
  private parsedHeaders: BufferedHeaders | undefined;

  constructor(
    readonly url: string,
    readonly status: number,
    private readonly rawHeaders: Record<string, string | string[] | undefined>,
    private readonly body: string,
  ) {}

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }
  get statusText(): string {
    return STATUS_CODES[this.status] ?? "";
  }
  get headers(): BufferedHeaders {
    return (this.parsedHeaders ??= new BufferedHeaders(this.rawHeaders));
  }
  async text(): Promise<string> {
    return this.body;
  }
  async json(): Promise<unknown> {
    return JSON.parse(this.body) as unknown;
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = Buffer.from(this.body);
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }
  clone(): BufferedResponse {
    return new BufferedResponse(this.url, this.status, this.rawHeaders, this.body);
  }
}

/**
 * Collects one answer in full for {@link createUndiciTransport}: status, headers and the body's chunks, then
 * resolves with a {@link BufferedResponse}; aborts the request when `signal` does (before it is sent, too).
 */
class CollectingHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private status = 0;
  private headers: Record<string, string | string[] | undefined> = {};
  private readonly chunks: Buffer[] = [];
  private readonly onAbort: (() => void) | undefined;

  constructor(
    private readonly url: string,
    private readonly resolve: (response: BufferedResponse) => void,
    private readonly reject: (error: unknown) => void,
    private readonly signal: AbortSignal | undefined,
  ) {
    if (signal) {
      // Not sent yet (waiting for a connection): the caller hears at once, and the request is dropped when its
      // turn comes (onRequestStart).
      this.onAbort = () => (this.controller ? this.controller.abort(signal.reason) : this.reject(signal.reason));
      signal.addEventListener("abort", this.onAbort, { once: true });
    }
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.signal?.aborted) controller.abort(this.signal.reason);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[]>): void {
    // 1xx informational answers come before the real one.
    if (statusCode < 200) return;
    this.status = statusCode;
    this.headers = headers;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    this.done();
    const bytes = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    // A UTF-8 byte order mark is not part of the text (undici's `body.text()` drops it too).
    const start = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
    this.resolve(new BufferedResponse(this.url, this.status, this.headers, bytes.toString("utf8", start)));
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.done();
    this.reject(error);
  }

  private done(): void {
    if (this.onAbort) this.signal?.removeEventListener("abort", this.onAbort);
  }
}

/** The transport: a {@link SubgraphFetch} over the pools, and `close()` for shutdown. */
export interface UndiciTransport {
  fetch: SubgraphFetch;
  /** Origins with a pool, and each pool's connection counts (for diagnostics). */
  stats(): Record<string, { connected: number; running: number; pending: number }>;
  /** Closes every pool (in-flight requests finish first). */
  close(): Promise<void>;
}

/** See the module comment. */
export function createUndiciTransport(options: UndiciTransportOptions = {}): UndiciTransport {
  const pools = new Map<string, Pool>();
  // url -> its pool and path, so the URL is parsed once per subgraph rather than once per call.
  const targets = new Map<string, { pool: Pool; path: string }>();

  function targetOf(url: string): { pool: Pool; path: string } {
    let target = targets.get(url);
    if (target) return target;
    const parsed = new URL(url);
    let pool = pools.get(parsed.origin);
    if (!pool) {
      pool = new Pool(parsed.origin, {
        connections: options.connections ?? 128,
        pipelining: 1,
        keepAliveTimeout: options.keepAliveTimeoutMs ?? 4000,
        connect: { timeout: options.connectTimeoutMs ?? 2000 },
        // The attempt timeout of the resilience stage governs; undici's own (300 s by default) would only differ.
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      pools.set(parsed.origin, pool);
    }
    target = { pool, path: `${parsed.pathname}${parsed.search}` };
    targets.set(url, target);
    return target;
  }

  return {
    fetch(url, init = {}) {
      const { pool, path } = targetOf(url);
      const signal = init.signal as AbortSignal | undefined;
      if (signal?.aborted) return Promise.reject(signal.reason as Error);
      return new Promise((resolve, reject) => {
        pool.dispatch(
          { path, method: (init.method ?? "POST") as "POST", headers: init.headers, body: init.body ?? null },
          new CollectingHandler(url, resolve, reject, signal),
        );
      });
    },
    stats() {
      return Object.fromEntries(
        [...pools].map(([origin, pool]) => [
          origin,
          { connected: pool.stats.connected, running: pool.stats.running, pending: pool.stats.pending },
        ]),
      );
    },
    async close() {
      await Promise.all([...pools.values()].map((pool) => pool.close()));
      pools.clear();
      targets.clear();
    },
  };
}
