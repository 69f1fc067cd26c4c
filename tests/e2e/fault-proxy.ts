/**
 * An HTTP proxy between the gateway process and one subgraph process, for fault tests: it forwards every request
 * to the subgraph and records it (operation type, caller, when it started and ended, whether the gateway
 * abandoned it), and on demand answers in its place (a status with Retry-After, a delay, a dropped connection).
 *
 * It also makes a subgraph restart simple: the gateway keeps one URL (the proxy's) while the subgraph comes back
 * on a new port (`target`). A subgraph that is down is seen by the gateway as a dropped connection, as behind a
 * load balancer: the proxy destroys the gateway's socket when it cannot reach the subgraph.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

/** One request the proxy received. */
export interface ProxiedRequest {
  /** 1, 2, 3... in arrival order. */
  seq: number;
  operation: "query" | "mutation" | "subscription" | "unknown";
  /** The subgraph operation's text. */
  query: string;
  /** `x-user-id` the gateway sent (undefined when anonymous). */
  userId: string | undefined;
  startedAt: number;
  /** When the answer was sent or the connection closed. */
  endedAt?: number;
  /** The gateway closed the connection before the answer. */
  aborted: boolean;
  /** What the proxy did. */
  outcome?: "forwarded" | "injected" | "dropped" | "unreachable";
  status?: number;
}

/** What to do with one request instead of forwarding it at once. */
export type Fault =
  { kind: "status"; status: number; retryAfter?: string; body?: string } | { kind: "delay"; ms: number } | { kind: "drop" };

/** A running proxy. */
export interface FaultProxy {
  /** The `/graphql` URL to give the gateway. */
  readonly url: string;
  /** The subgraph's origin; change it when the subgraph restarts elsewhere. */
  target: string;
  /** Decides the fate of each request (undefined: forward). Reset to none with `reset()`. */
  fault: ((request: ProxiedRequest) => Fault | undefined) | undefined;
  /** Every request so far. */
  readonly requests: ProxiedRequest[];
  /** Forgets the recorded requests and removes the fault. */
  reset(): void;
  stop(): Promise<void>;
}

function operationOf(query: string): ProxiedRequest["operation"] {
  const text = query.trimStart();
  if (text.startsWith("mutation")) return "mutation";
  if (text.startsWith("subscription")) return "subscription";
  return text.startsWith("query") || text.startsWith("{") ? "query" : "unknown";
}

/** Starts a proxy to `target` (an origin such as `http://127.0.0.1:41234`) on a free loopback port. */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  let seq = 0;
  const proxy: FaultProxy = {
    url: "",
    target,
    fault: undefined,
    requests: [],
    reset() {
      this.requests.length = 0;
      this.fault = undefined;
    },
    stop: async () => {},
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      let query = "";
      try {
        query = String((JSON.parse(body.toString("utf8")) as { query?: unknown }).query ?? "");
      } catch {
        // not GraphQL JSON (health checks are GETs): recorded as unknown
      }
      const userId = req.headers["x-user-id"];
      const record: ProxiedRequest = {
        seq: ++seq,
        operation: operationOf(query),
        query,
        userId: typeof userId === "string" ? userId : undefined,
        startedAt: Date.now(),
        aborted: false,
      };
      if (req.url?.startsWith("/graphql")) proxy.requests.push(record);
      res.once("close", () => {
        record.endedAt = Date.now();
        if (!res.writableFinished) record.aborted = true;
      });

      const forward = () => {
        if (res.destroyed) return;
        const upstream = http.request(
          new URL(req.url ?? "/", proxy.target),
          { method: req.method, headers: req.headers, agent },
          (answer) => {
            record.outcome = "forwarded";
            record.status = answer.statusCode;
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        upstream.on("error", () => {
          record.outcome = "unreachable";
          // What a gateway sees of a dead subgraph behind a proxy: the connection goes away.
          req.socket.destroy();
        });
        // The gateway gave up (timeout, deadline, client gone): the subgraph call is cancelled too.
        res.once("close", () => {
          if (!res.writableFinished) upstream.destroy();
        });
        upstream.end(body);
      };

      const fault = req.url?.startsWith("/graphql") ? proxy.fault?.(record) : undefined;
      if (!fault) return forward();
      switch (fault.kind) {
        case "status":
          record.outcome = "injected";
          record.status = fault.status;
          res.writeHead(fault.status, {
            "content-type": "text/plain",
            ...(fault.retryAfter === undefined ? {} : { "retry-after": fault.retryAfter }),
          });
          res.end(fault.body ?? "injected by the fault proxy");
          return;
        case "delay": {
          const timer = setTimeout(forward, fault.ms);
          res.once("close", () => clearTimeout(timer));
          return;
        }
        case "drop":
          record.outcome = "dropped";
          req.socket.destroy();
          return;
        default: {
          const never: never = fault;
          throw new Error(`unknown fault ${JSON.stringify(never)}`);
        }
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  Object.assign(proxy, {
    url: `http://127.0.0.1:${port}/graphql`,
    stop: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return proxy;
}
