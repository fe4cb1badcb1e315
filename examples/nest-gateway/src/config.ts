import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { ConfigError, type S3SyncOptions, s3SyncOptionsFromEnv } from 's3-sqs-sync';
import { type RoutingTable, validateRoutingTable } from './routing-table.ts';

/** Prefix of the gateway's variables: `GATEWAY_SQS_QUEUE_URL`, `GATEWAY_S3_URL`, … */
export const ENV_PREFIX = 'GATEWAY_';

/** `GATEWAY_S3_TIMEOUT_MS` when unset: how long S3 may take to accept a connection, and to answer. */
export const DEFAULT_S3_TIMEOUT_MS = 5_000;

/**
 * The sync's options from the environment: the `GATEWAY_`-prefixed variables of
 * `s3SyncOptionsFromEnv`, and SDK clients configured by the SDK's own variables (`AWS_REGION`,
 * credentials, `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL_SQS`).
 *
 * @throws {ConfigError} `ERR_CONFIG` for a missing or malformed variable.
 */
export async function gatewaySyncOptions(
  env: Readonly<Record<string, string | undefined>>,
): Promise<S3SyncOptions<RoutingTable>> {
  const config = s3SyncOptionsFromEnv(env, { prefix: ENV_PREFIX });
  if (!config.enabled) {
    // Without the sync the gateway would have no table to route by.
    throw new ConfigError(`${ENV_PREFIX}SQS_ENABLED must be true: the routing table comes from S3`, {
      variable: `${ENV_PREFIX}SQS_ENABLED`,
    });
  }
  if (config.source === undefined) {
    // The table is one object, and the server must not listen before it is served: with only an
    // allow-list and no local copy, start() would resolve with nothing to route by.
    throw new ConfigError(`${ENV_PREFIX}S3_URL must name the table's object (an allow-list is not enough)`, {
      variable: `${ENV_PREFIX}S3_URL`,
    });
  }
  const timeoutMs = s3TimeoutMs(env);
  // A fresh container has no data directory yet, and updates are written to a temp file beside the target.
  await mkdir(dirname(resolve(config.target)), { recursive: true });
  return {
    ...config,
    // The SDK reads the endpoint from AWS_ENDPOINT_URL_S3 but has no variable for path-style
    // addressing, which S3-compatible services and emulators need.
    s3: {
      client: new S3Client({
        forcePathStyle: env.AWS_ENDPOINT_URL_S3 !== undefined,
        // start() awaits the table's fetch before the server listens, even with a local copy to
        // serve. Without these limits an S3 that accepts and never answers holds every attempt for
        // the download's 30 s idle timeout, and the SDK's own retries multiply that. Here each
        // request gets `timeoutMs` to connect and `timeoutMs` for its response headers; the
        // download's retries (3, from 200 ms to 5 s apart) are the only ones.
        maxAttempts: 1,
        requestHandler: { connectionTimeout: timeoutMs, requestTimeout: timeoutMs, throwOnRequestTimeout: true },
      }),
    },
    // With an endpoint set by variable, that endpoint is meant: a queue URL naming another host
    // (emulators and S3-compatible stacks write their own) must not override it.
    sqs: { ...config.sqs, client: new SQSClient({ useQueueUrlAsEndpoint: env.AWS_ENDPOINT_URL_SQS === undefined }) },
    validate: validateRoutingTable,
  };
}

function s3TimeoutMs(env: Readonly<Record<string, string | undefined>>): number {
  const variable = `${ENV_PREFIX}S3_TIMEOUT_MS`;
  const raw = env[variable];
  if (raw === undefined || raw === '') return DEFAULT_S3_TIMEOUT_MS;
  const value = /^\d{1,9}$/.test(raw) ? Number(raw) : 0;
  if (value < 1)
    throw new ConfigError(`${variable} must be a positive number of milliseconds, received ${raw}`, { variable });
  return value;
}

/** `PORT` (default 3000; 0 picks a free port) and `HOST` (default loopback). */
export function listenAddress(env: Readonly<Record<string, string | undefined>>): { port: number; host: string } {
  const raw = env.PORT ?? '3000';
  const port = /^\d{1,5}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(port >= 0 && port <= 65_535)) throw new RangeError(`Expected PORT to be a port number, received ${raw}`);
  return { port, host: env.HOST ?? '127.0.0.1' };
}
