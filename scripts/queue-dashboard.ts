/**
 * The queue dashboard (bull-board) as a process: `npm start` runs it in development and prints its URL
 * (http://localhost:4090/queues). Shows every queue of the topology (packages/events/src/topology.ts) under
 * QUEUE_PREFIX. Development only: it can retry and delete jobs, and has no authentication.
 */
import http from "node:http";
import express from "express";
import { Redis } from "ioredis";
import { baseEnv, loadEnvOrExit, port, QUEUE_DASHBOARD_PORT, redisUrl, z } from "@ecom/config";
import { createQueueDashboard } from "@ecom/events/dashboard";

const env = loadEnvOrExit(
  "queue dashboard",
  z.object({
    ...baseEnv,
    PORT: port(QUEUE_DASHBOARD_PORT),
    REDIS_URL: redisUrl().default("redis://127.0.0.1:6379/0"),
    QUEUE_PREFIX: z.string().min(1).default("ecom"),
  }),
  process.env,
);
if (env.NODE_ENV === "production") {
  process.stderr.write("The queue dashboard is a development tool (no authentication, can delete jobs): it does not run in production.\n");
  process.exit(1);
}

const redis = new Redis(env.REDIS_URL, { maxRetriesPerRequest: 3 });
redis.on("error", () => {});
const dashboard = createQueueDashboard({ connection: redis, prefix: env.QUEUE_PREFIX });
const app = express();
app.disable("x-powered-by");
app.get("/health/live", (_req, res) => void res.json({ status: "ok" }));
app.get("/health/ready", (_req, res) => {
  redis.ping().then(
    () => res.json({ status: "ok" }),
    (error: unknown) => res.status(503).json({ status: "unavailable", error: String(error) }),
  );
});
app.get("/", (_req, res) => res.redirect(dashboard.basePath));
app.use(dashboard.basePath, dashboard.router);
const server = http.createServer(app);
server.listen(env.PORT, env.HOST, () => {
  const { port: actual } = server.address() as { port: number };
  process.stdout.write(
    `${JSON.stringify({ level: 30, msg: "queue dashboard ready", url: `http://localhost:${actual}${dashboard.basePath}`, prefix: env.QUEUE_PREFIX })}\n`,
  );
});
const stop = () => {
  server.closeAllConnections();
  server.close(() => {
    void dashboard.close().finally(() => {
      redis.disconnect();
      process.exit(0);
    });
  });
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
