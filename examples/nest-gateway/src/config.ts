import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { ConfigError, type S3SyncOptions, s3SyncOptionsFromEnv } from 's3-sqs-sync';
import { type RoutingTable, validateRoutingTable } from './routing-table.ts';

/** Prefix of the gateway's variables: `GATEWAY_SQS_QUEUE_URL`, `GATEWAY_S3_URL`, … */
export const ENV_PREFIX = 'GATEWAY_';

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
  // A fresh container has no data directory yet, and updates are written to a temp file beside the target.
  await mkdir(dirname(resolve(config.target)), { recursive: true });
  return {
    ...config,
    // The SDK reads the endpoint from AWS_ENDPOINT_URL_S3 but has no variable for path-style
    // addressing, which S3-compatible services and emulators need.
    s3: { client: new S3Client({ forcePathStyle: env.AWS_ENDPOINT_URL_S3 !== undefined }) },
    // With an endpoint set by variable, that endpoint is meant: a queue URL naming another host
    // (emulators and S3-compatible stacks write their own) must not override it.
    sqs: { ...config.sqs, client: new SQSClient({ useQueueUrlAsEndpoint: env.AWS_ENDPOINT_URL_SQS === undefined }) },
    validate: validateRoutingTable,
  };
}

/** `PORT` (default 3000; 0 picks a free port) and `HOST` (default loopback). */
export function listenAddress(env: Readonly<Record<string, string | undefined>>): { port: number; host: string } {
  const raw = env.PORT ?? '3000';
  const port = /^\d{1,5}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(port >= 0 && port <= 65_535)) throw new RangeError(`Expected PORT to be a port number, received ${raw}`);
  return { port, host: env.HOST ?? '127.0.0.1' };
}
