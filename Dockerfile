# One image recipe for every deployable: the gateway or one subgraph, chosen with a build argument.
#   docker build --build-arg SERVICE=subgraphs/users --build-arg PORT=4001 -t ecom-users .
#   docker build --build-arg SERVICE=subgraphs/users --target migrate -t ecom-users-migrate .
# Stages: build (full install, Prisma clients, esbuild bundle, the runtime layout; also the target of compose's
# one-shot `migrate`), migrate (`prisma migrate deploy` of one service: the Kubernetes migration Job), runtime
# (non-root: the bundle, its package.json "files" and only the production files its imports load).

ARG NODE_IMAGE=node:22-bookworm-slim
# Folder of the deployable inside the repo: gateway | subgraphs/<name>
ARG SERVICE=gateway

# ---------------------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
ARG SERVICE
WORKDIR /app
ENV CI=true \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false \
    PRISMA_HIDE_UPDATE_MESSAGE=1 \
    CHECKPOINT_DISABLE=1
# .dockerignore keeps node_modules, dist, generated clients, tests and local files out of the context.
COPY . .
RUN npm ci
# Prisma clients of every subgraph (generated code is not committed); the migrate/seed target needs them all.
# A placeholder DATABASE_URL is set by the shared prisma.config.ts, so no database is needed here.
RUN npm run generate --workspaces --if-present
RUN test -f "${SERVICE}/package.json" || { echo "SERVICE=${SERVICE} is not a workspace folder (gateway | subgraphs/<name>)" >&2; exit 1; } \
 && npm run build --workspace "${SERVICE}" \
 && test -f "${SERVICE}/dist/index.js"
# What the image runs, assembled in /runtime: the deployable's package.json and "files" (dist, the gateway's
# supergraph.graphql), and the files of node_modules its bundle loads, traced from its entry points (no dev
# dependencies, no other service's packages). tests/deploy/runtime-layout.e2e.test.ts starts each deployable
# from the same layout.
RUN npx tsx scripts/runtime-layout.ts "${SERVICE}" /runtime

# ---------------------------------------------------------------------------------------------------------------
FROM build AS migrate
ARG SERVICE
# `prisma migrate deploy` of this service (its Kubernetes migration Job runs this image before the rollout).
WORKDIR /app/${SERVICE}
ENV NODE_ENV=production
USER node
CMD ["/app/node_modules/.bin/prisma", "migrate", "deploy"]

# ---------------------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ARG SERVICE
ARG PORT=4000
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=${PORT}
# V8's young generation at 64 MiB instead of 16 (scripts/topology.ts GATEWAY_NODE_OPTIONS): measured on the gateway
# with npm run bench, GC time per response halved; it grows to that size only under load. Subgraphs get it too
# (same request-shaped allocation, not measured separately); `docker run -e NODE_OPTIONS=...` overrides it.
ENV NODE_OPTIONS=--max-semi-space-size=64
WORKDIR /app
COPY --from=build --chown=root:root /runtime/ /app/
WORKDIR /app/${SERVICE}
# Files stay owned by root and read-only for the process: it runs as the image's unprivileged `node` user.
USER node
EXPOSE ${PORT}
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "dist/index.js"]
