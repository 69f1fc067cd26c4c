import type http from "node:http";
import type { AddressInfo } from "node:net";

/** Options of {@link createHttpLifecycle}. */
export interface HttpLifecycleOptions {
  /** The server Apollo serves on (with `ApolloServerPluginDrainHttpServer`, so stopping Apollo drains it). */
  httpServer: http.Server;
  apollo: { stop(): Promise<void> };
  /**
   * How long to keep serving once stopping began (readiness already failing), so load balancers stop sending
   * traffic before the listener closes.
   * @default 0
   */
  shutdownDelayMs?: number;
  /** Runs last, after the HTTP server closed (close pools, queues...). */
  onStop?: () => Promise<void>;
}

/** Listening and stopping of a GraphQL HTTP server: the same for the gateway and every subgraph. */
export interface HttpLifecycle {
  /** Starts listening (port 0: a free one); resolves with the URL of `/graphql` and the actual port. */
  listen(port: number, host?: string): Promise<{ url: string; port: number }>;
  /**
   * Stops: {@link HttpLifecycle.isShuttingDown} turns true at once (readiness answers 503), the server keeps serving
   * for `shutdownDelayMs`, Apollo stops (draining in-flight requests), the listener closes, then `onStop` runs.
   * Idempotent: later calls return the first call's promise.
   */
  stop(): Promise<void>;
  /** True once {@link HttpLifecycle.stop} was called (for `/health/ready`). */
  isShuttingDown(): boolean;
}

/** The {@link HttpLifecycle} of an Apollo server on `httpServer`. */
export function createHttpLifecycle(options: HttpLifecycleOptions): HttpLifecycle {
  const { httpServer, apollo } = options;
  let shuttingDown = false;
  let stopping: Promise<void> | undefined;
  return {
    listen(port, host = "0.0.0.0") {
      return new Promise((resolve, reject) => {
        httpServer.once("error", reject);
        httpServer.listen(port, host, () => {
          httpServer.off("error", reject);
          const actual = (httpServer.address() as AddressInfo).port;
          const shownHost = host === "0.0.0.0" || host === "::" ? "localhost" : host;
          resolve({ url: `http://${shownHost}:${actual}/graphql`, port: actual });
        });
      });
    },
    stop() {
      stopping ??= (async () => {
        shuttingDown = true;
        if (options.shutdownDelayMs && httpServer.listening) await new Promise((r) => setTimeout(r, options.shutdownDelayMs));
        // apollo.stop() drains: it stops accepting connections and waits for in-flight requests.
        await apollo.stop();
        if (httpServer.listening) await new Promise<void>((r) => httpServer.close(() => r()));
        await options.onStop?.();
      })();
      return stopping;
    },
    isShuttingDown: () => shuttingDown,
  };
}
