# syntax=docker/dockerfile:1
# provwatch image: the service (api and/or worker by PROVWATCH_ROLES) and the `provwatch` CLI.
# Base: node:24-bookworm-slim by tag, not digest: a digest cannot be resolved on the machines this
# was written on, and the tag follows Node 24's security releases; pin a digest in your own build
# (docker buildx imagetools inspect node:24-bookworm-slim) when you need byte-for-byte rebuilds.
# test/deploy/production-tree.test.ts builds the runtime stage's tree from the COPY lines below.

FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY libs/config/package.json libs/config/index.js libs/config/
COPY libs/jobs/package.json libs/jobs/index.js libs/jobs/
COPY libs/observability/package.json libs/observability/index.js libs/observability/
COPY libs/persistence/package.json libs/persistence/index.js libs/persistence/
COPY libs/service-core/package.json libs/service-core/index.js libs/service-core/
COPY libs/sources/package.json libs/sources/index.js libs/sources/
COPY libs/verification/package.json libs/verification/index.js libs/verification/
# --ignore-scripts: no package's install script runs (Prisma's engine download, telemetry).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json prisma.config.ts ./
COPY prisma prisma
COPY scripts scripts
COPY apps apps
COPY libs libs
# test/ and bench/ only because tsconfig's project compiles them with the code; dropped below.
COPY test test
COPY bench bench
RUN node scripts/prisma-generate.mjs && node node_modules/typescript/bin/tsc -b tsconfig.build.json \
  && rm -rf dist/test dist/bench && find dist -name '*.test.js*' -delete

FROM node:24-bookworm-slim AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
COPY libs/config/package.json libs/config/index.js libs/config/
COPY libs/jobs/package.json libs/jobs/index.js libs/jobs/
COPY libs/observability/package.json libs/observability/index.js libs/observability/
COPY libs/persistence/package.json libs/persistence/index.js libs/persistence/
COPY libs/service-core/package.json libs/service-core/index.js libs/service-core/
COPY libs/sources/package.json libs/sources/index.js libs/sources/
COPY libs/verification/package.json libs/verification/index.js libs/verification/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:24-bookworm-slim AS runtime
# tini as PID 1: forwards SIGTERM to node (Nest's shutdown hooks close queues and the database)
# and reaps zombies, also when the container is started without --init.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="provwatch" \
  org.opencontainers.image.description="Continuous supply-chain verification: SLSA provenance, Sigstore signatures and SBOM attestations of releases and container images" \
  org.opencontainers.image.licenses="Apache-2.0" \
  org.opencontainers.image.source="https://github.com/provwatch/provwatch" \
  org.opencontainers.image.version="${VERSION}" \
  org.opencontainers.image.revision="${REVISION}"
WORKDIR /app
# Everything under /app is owned by root and read-only to the service: a compromised process
# cannot rewrite its own code. The only writable place it needs is HOME (the TUF cache), in /tmp.
ENV NODE_ENV=production \
  HOME=/tmp \
  PORT=8080 \
  PROVWATCH_CONFIG=/etc/provwatch/provwatch.yaml
COPY --from=production-dependencies /app/node_modules node_modules
COPY --from=build /src/dist/apps dist/apps
COPY --from=build /src/dist/libs dist/libs
COPY package.json package-lock.json ./
COPY libs/config/package.json libs/config/index.js libs/config/
COPY libs/jobs/package.json libs/jobs/index.js libs/jobs/
COPY libs/observability/package.json libs/observability/index.js libs/observability/
COPY libs/persistence/package.json libs/persistence/index.js libs/persistence/
COPY libs/service-core/package.json libs/service-core/index.js libs/service-core/
COPY libs/sources/package.json libs/sources/index.js libs/sources/
COPY libs/verification/package.json libs/verification/index.js libs/verification/
COPY prisma/migrations prisma/migrations
COPY bin bin
COPY provwatch.yaml /etc/provwatch/provwatch.yaml
# The image's own user (uid 1000 `node`), never root.
USER 1000:1000
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--no-memory-reducer", "dist/apps/api/src/main.js"]
