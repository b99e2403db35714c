# One image per tsmesh app, the same file for all of them:
#   docker build --build-arg APP=pilot -t tsmesh/pilot:latest .
# `docker compose build` (or the first `docker compose up`) builds every image docker-compose.yml
# names this way; the k8s manifests use the same tags (docs/demos.md).
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
ENV NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
ARG APP
RUN test -n "${APP}" || (echo "build with --build-arg APP=<nx project>, e.g. APP=pilot" >&2; exit 1)
RUN npx nx build "${APP}" --skip-nx-cache --outputStyle=static

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# The bundles keep third-party packages external: the runtime installs them without dev tools.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
ARG APP
COPY --from=build /src/dist/apps/${APP}/ ./
COPY tools/docker/entrypoint.sh /usr/local/bin/tsmesh-entrypoint
COPY tools/docker/launch-env.cjs /usr/local/lib/tsmesh/launch-env.cjs
# Where an app may write as the unprivileged user: Citadel's CA directory (compose's --ca-dir, the
# manifest's CITADEL_CA_DIR) and the default state folder under /app.
RUN mkdir -p /var/lib/citadel /app/.tsmesh && chown node:node /var/lib/citadel /app/.tsmesh
USER node
ENTRYPOINT ["/bin/sh", "/usr/local/bin/tsmesh-entrypoint"]
