# One image recipe for every deployable: the gateway or one subgraph, chosen with a build argument.
#   docker build --build-arg SERVICE=subgraphs/users --build-arg PORT=4001 -t ecom-users .
# Stages: build (full install, Prisma clients, esbuild bundle; also the target of compose's one-shot `migrate`),
# prod-deps (production node_modules only), runtime (non-root, bundle + production node_modules).

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

# ---------------------------------------------------------------------------------------------------------------
FROM build AS prod-deps
ARG SERVICE
# Drop dev dependencies from the installed tree (no network needed; bundles do not need them). npm nests a
# dependency under the workspace when its version conflicts with the hoisted one: keep that folder (maybe empty).
RUN npm prune --omit=dev --ignore-scripts \
 && mkdir -p "${SERVICE}/node_modules"

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
COPY --from=prod-deps --chown=root:root /app/package.json ./package.json
COPY --from=prod-deps --chown=root:root /app/node_modules ./node_modules
COPY --from=prod-deps --chown=root:root /app/${SERVICE}/node_modules ./${SERVICE}/node_modules
COPY --from=build --chown=root:root /app/${SERVICE}/package.json ./${SERVICE}/package.json
COPY --from=build --chown=root:root /app/${SERVICE}/dist ./${SERVICE}/dist
WORKDIR /app/${SERVICE}
# Files stay owned by root and read-only for the process: it runs as the image's unprivileged `node` user.
USER node
EXPOSE ${PORT}
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "dist/index.js"]
