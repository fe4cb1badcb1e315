import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { S3Sync } from 's3-sqs-sync';
import { UsageError } from './args.ts';

/** `/metrics`: OpenTelemetry metrics from the pipeline's events, in the Prometheus text format. */
export interface MetricsEndpoint {
  handle(request: IncomingMessage, response: ServerResponse): void;
  shutdown(): Promise<void>;
}

/** The packages `/metrics` needs: optional peer dependencies, so a library install never pays for them. */
export const METRICS_PACKAGES = ['@opentelemetry/sdk-metrics', '@opentelemetry/exporter-prometheus'] as const;

/**
 * Loads OpenTelemetry only now: a command started without `--health-port` never pays for it.
 * The exporter's own server is not started; its handler is served by the health server.
 * `undefined` when the OpenTelemetry SDK and Prometheus exporter are not installed (they are
 * optional peer dependencies): `/metrics` then answers 501 naming them.
 */
export async function createMetricsEndpoint(
  sync: S3Sync<unknown>,
  queueUrl: string,
): Promise<MetricsEndpoint | undefined> {
  let modules: [
    typeof import('@opentelemetry/sdk-metrics'),
    typeof import('@opentelemetry/exporter-prometheus'),
    typeof import('s3-sqs-sync/metrics'),
  ];
  try {
    modules = await Promise.all([
      import('@opentelemetry/sdk-metrics'),
      import('@opentelemetry/exporter-prometheus'),
      import('s3-sqs-sync/metrics'),
    ]);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw error;
  }
  const [{ MeterProvider }, { PrometheusExporter }, { instrument }] = modules;
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ readers: [exporter] });
  const instrumentation = instrument(sync, { meter: provider.getMeter('s3-sqs-sync'), queueUrl });
  return {
    handle: (request, response) => exporter.getMetricsRequestHandler(request, response),
    async shutdown() {
      instrumentation.stop();
      await provider.shutdown();
    },
  };
}

/** `/health`: 200 only while the file is current (`ready`); 503 when `degraded`, `starting` or `stopped`. */
export function healthStatus(state: string): number {
  return state === 'ready' ? 200 : 503;
}

/**
 * `/ready`: 200 while a good file is served, even if the last update failed. Every replica gets
 * the same bad upload at once, so a readiness probe that failed on `degraded` would turn one
 * refused update into an outage of every pod.
 */
export function readyStatus(state: string): number {
  return state === 'ready' || state === 'degraded' ? 200 : 503;
}

export interface HealthServerOptions {
  readonly sync: S3Sync<unknown>;
  readonly host: string;
  readonly port: number;
  readonly metrics?: MetricsEndpoint | undefined;
  /**
   * How long a client may take to send a whole request (headers included), in ms.
   * @defaultValue 10000
   */
  readonly requestTimeoutMs?: number | undefined;
  /**
   * Connections open at once; more are closed as they arrive. Probes and a scraper need a few.
   * @defaultValue 64
   */
  readonly maxConnections?: number | undefined;
  /**
   * How often Node checks open connections against `requestTimeoutMs`, in ms. Node's own default
   * (30 s) would let a client that trickles header bytes hold a socket three times the timeout.
   * @defaultValue 1000
   */
  readonly connectionsCheckingIntervalMs?: number | undefined;
}

export const DEFAULT_HEALTH_REQUEST_TIMEOUT_MS = 10_000;
export const DEFAULT_HEALTH_MAX_CONNECTIONS = 64;
const DEFAULT_CONNECTIONS_CHECKING_INTERVAL_MS = 1000;

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`Expected \`${name}\` to be a positive integer, received ${String(value)}`);
  }
  return value;
}

/** Serves `GET /health` (the pipeline's `health()`; 200 when ready, 503 otherwise), `GET /ready` and `GET /metrics`. */
export async function startHealthServer(options: HealthServerOptions): Promise<Server> {
  const { sync, metrics } = options;
  const timeoutMs = positiveInteger('requestTimeoutMs', options.requestTimeoutMs, DEFAULT_HEALTH_REQUEST_TIMEOUT_MS);
  const maxConnections = positiveInteger('maxConnections', options.maxConnections, DEFAULT_HEALTH_MAX_CONNECTIONS);
  const checkingIntervalMs = positiveInteger(
    'connectionsCheckingIntervalMs',
    options.connectionsCheckingIntervalMs,
    DEFAULT_CONNECTIONS_CHECKING_INTERVAL_MS,
  );
  // A probe that hangs, or a client that trickles bytes, must not hold a socket for long; and the
  // cap keeps many such clients from exhausting the sidecar's file descriptors and memory.
  const serverOptions = {
    connectionsCheckingInterval: checkingIntervalMs,
    headersTimeout: timeoutMs,
    requestTimeout: timeoutMs,
  };
  const server = createServer(serverOptions, (request, response) => {
    const path = (request.url ?? '/').split('?', 1)[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/health' || path === '/ready') {
      const health = sync.health();
      const body = JSON.stringify(health);
      response
        .writeHead(path === '/health' ? healthStatus(health.state) : readyStatus(health.state), {
          'content-type': 'application/json',
          'cache-control': 'no-store',
          'content-length': Buffer.byteLength(body),
        })
        .end(request.method === 'HEAD' ? undefined : body);
    } else if (path === '/metrics' && metrics !== undefined) {
      metrics.handle(request, response);
    } else if (path === '/metrics') {
      response
        .writeHead(501, { 'content-type': 'text/plain' })
        .end(`/metrics needs ${METRICS_PACKAGES.join(' and ')} installed beside s3-sqs-sync\n`);
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found\n');
    }
  });
  server.maxConnections = maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new UsageError(`--health-port: cannot listen on ${options.host}:${options.port}: ${error.message}`)),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  return server;
}

/** Closes the server and the keep-alive sockets probes leave open. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
