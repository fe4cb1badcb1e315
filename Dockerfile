# syntax=docker/dockerfile:1
# The s3-sqs-sync command as a sidecar image. See docs/cli.md ("Container image").
#
#   docker build -t s3-sqs-sync .
#   docker run --rm s3-sqs-sync sync --help

# 1. Build the package and pack it exactly as npm would publish it.
FROM node:24-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsup.config.ts README.md CHANGELOG.md LICENSE ./
COPY src ./src
COPY docs ./docs
RUN npm run build && npm pack --pack-destination /tmp && mv /tmp/s3-sqs-sync-*.tgz /tmp/s3-sqs-sync.tgz

# 2. Install the packed package with its runtime dependencies only. The AWS SDK clients are peer
#    dependencies of the library, so they are named here; client-sns is for `replica-queue`, the
#    OpenTelemetry SDK and Prometheus exporter (optional peers) for `--health-port`'s /metrics.
FROM node:24-slim AS deps
WORKDIR /app
COPY --from=build /tmp/s3-sqs-sync.tgz /tmp/s3-sqs-sync.tgz
RUN echo '{"name":"s3-sqs-sync-image","private":true}' > package.json \
  && npm install --omit=dev --ignore-scripts --no-audit --no-fund \
       /tmp/s3-sqs-sync.tgz @aws-sdk/client-s3@^3 @aws-sdk/client-sqs@^3 @aws-sdk/client-sns@^3 \
       @opentelemetry/sdk-metrics@^3 '@opentelemetry/exporter-prometheus@>=0.300.0 <0.400.0' \
  && npm cache clean --force

# 3. Runtime: slim rather than distroless, because --exec and --verify-cmd run through `sh`.
FROM node:24-slim
# tini as PID 1 reaps the orphaned grandchildren of --exec and --verify-cmd commands; node as
# PID 1 would leave them as zombies until the container stops.
# tini forwards the signals it gets to node: TERM and INT stop `sync`; HUP is logged and ignored,
# so `kill -HUP 1` in this container reaches no service (use --signal with --pid-file instead).
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# The official image's unprivileged user (uid 1000): give the shared volume to that uid.
USER node
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/node_modules/s3-sqs-sync/dist/cli.js"]
CMD ["--help"]
