/**
 * An MCP-registry-style service on Express, kept in step with `registry.json` in S3 by
 * `createS3Sync`, configured like the Go registry:
 *
 *   MCP_REGISTRY_SQS_ENABLED=true MCP_REGISTRY_SQS_QUEUE_URL=… MCP_REGISTRY_JSON_FILE_PATH=… \
 *   MCP_REGISTRY_S3_URL=s3://bucket/registry.json PORT=8080 node examples/express-registry/server.ts
 *
 * See README.md beside this file for every variable, the API, and how to run it on an emulator.
 */

import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import {
  ConfigError,
  createS3Sync,
  JsonFileStore,
  type ReloadableStore,
  type S3Sync,
  s3SyncOptionsFromEnv,
} from 's3-sqs-sync';
import { createRegistryApp, type RegistrySource } from './app.ts';
import { prepareSnapshot, Registry } from './registry.ts';

type Env = Readonly<Record<string, string | undefined>>;

/** Options for {@link startRegistry}. */
export interface StartRegistryOptions {
  /**
   * The variables to read (`MCP_REGISTRY_*`, `PORT`, `HOST`, `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`).
   * @defaultValue `process.env`
   */
  readonly env?: Env;
  /** Your S3 client. @defaultValue `new S3Client({ forcePathStyle })`, configured by the SDK from the environment */
  readonly s3?: S3Client;
  /** Your SQS client. @defaultValue `new SQSClient({})`, configured by the SDK from the environment */
  readonly sqs?: SQSClient;
  /** Where to write one line per event. @defaultValue `console.log` */
  readonly log?: (line: string) => void;
}

/** A running registry. */
export interface RegistryServer {
  /** `http://<host>:<port>` */
  readonly url: string;
  readonly port: number;
  /** The pipeline, when `MCP_REGISTRY_SQS_ENABLED` is on. */
  readonly sync: S3Sync<Registry> | undefined;
  readonly store: ReloadableStore<Registry>;
  /**
   * Resolves once data is served or awaited (`sync.start()`, or the file's first load with SQS
   * off); rejects when start-up failed. The server answers 503 meanwhile.
   */
  readonly ready: Promise<void>;
  /** Stops the sync, closes the HTTP server and the clients it created. Safe to call twice. */
  close(): Promise<void>;
}

const DEFAULT_PORT = 8080;

function portFrom(env: Env): number {
  const value = env.PORT?.trim() ?? '';
  if (value === '') return DEFAULT_PORT;
  const port = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(port >= 0 && port <= 65_535)) {
    throw new ConfigError(`PORT must be an integer from 0 to 65535, received ${JSON.stringify(env.PORT)}`, {
      variable: 'PORT',
    });
  }
  return port;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolveListen((server.address() as { port: number }).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolveClose) => {
    server.close(() => resolveClose());
    // Keep-alive connections with no request in flight would hold close() open until they time out.
    server.closeIdleConnections();
    // Sockets with no complete request yet (pre-opened by a load balancer, or a slow client) are
    // not idle: close whatever is left after a short grace, so SIGTERM exits in seconds.
    setTimeout(() => server.closeAllConnections(), 2_000).unref();
  });
}

function errorText(error: unknown): string {
  if (error instanceof Error) return 'code' in error ? `${String(error.code)}: ${error.message}` : error.message;
  return String(error);
}

/**
 * Starts the registry: reads the environment, starts the HTTP server (503 until data is served),
 * then the sync. Resolves once listening; `ready` says when start-up finished.
 */
export async function startRegistry(options: StartRegistryOptions = {}): Promise<RegistryServer> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => console.log(line));
  const config = s3SyncOptionsFromEnv(env);
  const port = portFrom(env);
  const host = env.HOST?.trim() || '127.0.0.1';
  const target = config.target;
  if (target === '') {
    throw new ConfigError('MCP_REGISTRY_JSON_FILE_PATH must be a file path, received undefined', {
      variable: 'MCP_REGISTRY_JSON_FILE_PATH',
    });
  }

  // A first boot in a fresh container has no data directory yet; downloads go to a temp file beside
  // the target, so the directory must exist before the first update arrives.
  await mkdir(dirname(resolve(target)), { recursive: true });

  const created: { destroy(): void }[] = [];
  let sync: S3Sync<Registry> | undefined;
  let store: ReloadableStore<Registry>;
  if (config.enabled) {
    // The SDK reads no variable for path-style addressing, which most S3 emulators need.
    // The SDK's global AWS_ENDPOINT_URL points S3 at an emulator as well as AWS_ENDPOINT_URL_S3 does.
    const endpoint = env.AWS_ENDPOINT_URL_S3?.trim() || env.AWS_ENDPOINT_URL?.trim();
    const s3 = options.s3 ?? new S3Client({ forcePathStyle: Boolean(endpoint) });
    const sqs = options.sqs ?? new SQSClient({});
    if (options.s3 === undefined) created.push(s3);
    if (options.sqs === undefined) created.push(sqs);
    sync = createS3Sync<Registry>({
      ...config,
      target,
      sqs: { ...config.sqs, client: sqs },
      s3: { client: s3 },
      validate: Registry,
    });
    const running = sync;
    running.on('update_applied', ({ version, snapshot, etag, lagMs }) => {
      const lag = lagMs === undefined ? '' : `, ${lagMs} ms after the S3 event`;
      log(`serving version ${version}: ${snapshot.data.servers.length} servers (etag ${etag}${lag})`);
    });
    running.on('update_failed', (error) => {
      log(`update refused (${errorText(error.cause ?? error)}); still serving version ${running.health().version}`);
    });
    store = running.store;
  } else {
    store = new JsonFileStore<Registry>({ path: target, validate: Registry });
  }
  // The cursor id hashes the whole registry and the index walks it: done once as each snapshot is
  // published, so no request pays for it (tens of megabytes take hundreds of milliseconds).
  store.on('reloaded', (snapshot) => prepareSnapshot(snapshot));

  const source: RegistrySource = {
    snapshot: () => (store.health().ready ? store.snapshot() : undefined),
    health: () => {
      if (sync !== undefined) {
        const health = sync.health();
        const serving = health.state === 'ready' || health.state === 'degraded';
        return { ready: health.state === 'ready', serving, body: health };
      }
      const { ready, version, consecutiveFailures, lastError } = store.health();
      const body = { state: ready ? 'ready' : 'starting', version, consecutiveFailures, sqs: 'disabled' };
      return {
        ready,
        serving: ready,
        body: lastError === undefined ? body : { ...body, lastError: lastError.toJSON() },
      };
    },
  };

  const server = createServer(createRegistryApp(source));
  let boundPort: number;
  try {
    boundPort = await listen(server, port, host);
  } catch (error) {
    // EADDRINUSE and the like: nothing was started, but the clients made here hold sockets.
    for (const client of created) client.destroy();
    throw error;
  }
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
  log(`registry listening on ${url} (sqs ${config.enabled ? `on: ${config.sqs.queueUrl}` : 'off'})`);

  const ready = sync === undefined ? store.load().then(() => undefined) : sync.start();
  // Marked handled here so a caller that never awaits `ready` does not crash the process on a
  // failed start; the entry point below and the tests do await it.
  ready.catch(() => {});

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await Promise.all([closeServer(server), sync === undefined ? store.close() : sync.stop()]);
      for (const client of created) client.destroy();
    })();
    return closing;
  };
  return { url, port: boundPort, sync, store, ready, close };
}

async function main(): Promise<void> {
  const registry = await startRegistry();
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping`);
    // A shutdown that hangs past the sync's own deadline (30 s) is a bug; do not wait for ever.
    setTimeout(() => {
      console.error('shutdown took too long; exiting');
      process.exit(1);
    }, 35_000).unref();
    registry.close().then(
      () => console.log('stopped'),
      (error: unknown) => {
        console.error(`shutdown failed: ${errorText(error)}`);
        process.exitCode = 1;
      },
    );
  };
  // `on`, not `once`: a second signal during the stop must reach the guard above, not Node's
  // default handler, which would kill the process before the clean stop ends.
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    await registry.ready;
    console.log(`ready: serving version ${registry.store.health().version || '(none yet)'}`);
  } catch (error) {
    // A signal during start-up stops the start: that is a clean exit, not a failure.
    if (stopping) return;
    console.error(`start-up failed: ${errorText(error)}`);
    process.exitCode = 1;
    await registry.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((error: unknown) => {
    console.error(errorText(error));
    process.exitCode = 1;
  });
}
