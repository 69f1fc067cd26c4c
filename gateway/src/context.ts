/** What every GraphQL request of the gateway carries in Apollo's `contextValue`. */
export interface GatewayContext {
  /** This hop's request id (also in the `x-request-id` response header). */
  requestId: string;
  /** Shared by every hop of the client's request; forwarded to the subgraphs as `x-correlation-id`. */
  correlationId: string;
  /** Clock time (ms) by which every subgraph call of this request must be over, retries included. */
  deadline?: number;
  /** Aborts when the client goes away before its answer: its subgraph calls are cancelled. */
  signal?: AbortSignal;
  /** `x-canary: always` / `never` of the client's request (see canaryPinOf in server.ts). */
  canary?: "canary" | "stable" | undefined;
  /** The client's address (express `req.ip`: through the proxies TRUST_PROXY trusts); rate limits key on it. */
  clientIp?: string | undefined;
}
