import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { AllowList, Logger, StopResult } from 's3-sqs-sync';
import { ConfigError, isValidBucketName, SqsListener, sweepTempFiles } from 's3-sqs-sync';
import { createHttpApp, type RateLimitOptions } from './http.ts';
import { removeEarlierCopies, UploadProcessor } from './processor.ts';

/** What the environment configures (see {@link configFromEnv}); clients are added by the caller. */
export interface UploadProcessorEnvConfig {
  /** `API_KEY`: at least 16 printable ASCII characters, no spaces. */
  readonly apiKey: string;
  /** `QUEUE_URL` */
  readonly queueUrl: string;
  /** `ALLOWED_BUCKETS` (comma-separated), and `ALLOWED_KEY_PREFIXES` (comma-separated) when set. */
  readonly allow: AllowList;
  /** `WORK_DIR` */
  readonly workDir: string;
  /** `PORT`: 0 picks a free one. */
  readonly port: number;
  /** `MAX_BYTES` */
  readonly maxBytes?: number;
  /** `RATE_LIMIT_PER_MINUTE` */
  readonly rateLimit?: RateLimitOptions;
}

export interface UploadProcessorConfig extends UploadProcessorEnvConfig {
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  /**
   * Only loopback by default: put a TLS-terminating proxy in front, the API key travels in a header.
   * @defaultValue '127.0.0.1'
   */
  readonly host?: string;
  /**
   * The listener's long-poll wait, 0 to 20 seconds.
   * @defaultValue 20
   */
  readonly waitTimeSeconds?: number;
  /**
   * Messages handled at once.
   * @defaultValue 4
   */
  readonly concurrency?: number;
  /**
   * How long `stop()` lets running handlers finish before handing their messages back.
   * @defaultValue 10000
   */
  readonly stopTimeoutMs?: number;
  /**
   * How long `stop()` then lets HTTP requests still open finish before their connections are
   * closed: a client that never finishes its request must not hold the process up.
   * @defaultValue 2000
   */
  readonly httpCloseTimeoutMs?: number;
  /** @defaultValue 1000 */
  readonly maxResults?: number;
  /** @defaultValue silent */
  readonly logger?: Logger;
}

export interface RunningUploadProcessor {
  /** `http://host:port` */
  readonly url: string;
  readonly processor: UploadProcessor;
  readonly listener: SqsListener;
  readonly server: Server;
  /** Stops the listener (in-flight messages finish or go back), then the HTTP server. Safe to call twice. */
  stop(): Promise<StopResult>;
}

const MIN_API_KEY_LENGTH = 16;
// Header values reach Node as Latin-1 and `Bearer` takes one token: a key outside visible ASCII,
// or with a space, could never be presented.
const API_KEY_PATTERN = new RegExp(`^[\\x21-\\x7E]{${MIN_API_KEY_LENGTH},}$`);
const API_KEY_RULE = `a secret of at least ${MIN_API_KEY_LENGTH} printable ASCII characters without spaces`;

/**
 * Creates the work directory, starts the HTTP server, then the listener. The pieces are the
 * package's primitives used on their own: `SqsListener` receives, the processor decodes with
 * `decodeSyncMessage` and fetches with `downloadS3Object`.
 */
export async function startUploadProcessor(config: UploadProcessorConfig): Promise<RunningUploadProcessor> {
  if (typeof config.apiKey !== 'string' || !API_KEY_PATTERN.test(config.apiKey)) {
    throw new TypeError(`Expected \`apiKey\` to be ${API_KEY_RULE}`);
  }
  const workDir = resolve(config.workDir);
  await mkdir(workDir, { recursive: true });
  // Temp files of a download a crash interrupted, and the copies of an earlier run, whose
  // results were in its memory: nothing would ever remove them.
  await sweepTempFiles(workDir);
  await removeEarlierCopies(workDir);

  const processor = new UploadProcessor({
    s3: config.s3,
    workDir,
    allow: config.allow,
    ...(config.maxBytes === undefined ? {} : { maxBytes: config.maxBytes }),
    ...(config.maxResults === undefined ? {} : { maxResults: config.maxResults }),
    ...(config.logger === undefined ? {} : { logger: config.logger }),
  });
  const listener = new SqsListener({
    client: config.sqs,
    queueUrl: config.queueUrl,
    handleMessage: processor.handleMessage,
    concurrency: config.concurrency ?? 4,
    waitTimeSeconds: config.waitTimeSeconds ?? 20,
    // A download of `maxBytes` fits well within it; the heartbeat covers a slow one.
    visibilityTimeout: 60,
    ...(config.logger === undefined ? {} : { logger: config.logger }),
  });
  const http = createHttpApp({
    processor,
    listener,
    apiKey: config.apiKey,
    ...(config.rateLimit === undefined ? {} : { rateLimit: config.rateLimit }),
  });

  const server = http.app.listen(config.port, config.host ?? '127.0.0.1');
  try {
    await once(server, 'listening');
  } catch (error) {
    http.close();
    throw error;
  }
  const { address, port } = server.address() as AddressInfo;
  listener.start();

  let stopping: Promise<StopResult> | undefined;
  const stop = async (): Promise<StopResult> => {
    const result = await listener.stop({ timeoutMs: config.stopTimeoutMs ?? 10_000 });
    http.close();
    await new Promise<void>((done) => {
      server.close(() => done());
      // Keep-alive connections would hold `close` open until their clients hang up.
      server.closeIdleConnections();
      // Once closing, Node no longer times out a request whose headers never end: cut what is left.
      setTimeout(() => server.closeAllConnections(), config.httpCloseTimeoutMs ?? 2_000).unref();
    });
    return result;
  };
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    processor,
    listener,
    server,
    stop: () => {
      stopping ??= stop();
      return stopping;
    },
  };
}

/**
 * Reads the settings from the environment. Throws a `ConfigError` naming the variable for one
 * that is missing or malformed. AWS settings are the SDK's own (`AWS_REGION`,
 * `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL_SQS`, credentials): the SDK reads them itself.
 */
export function configFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): UploadProcessorEnvConfig {
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const fail = (name: string, expected: string): never => {
    const received = env[name] === undefined ? 'it is not set' : `received ${JSON.stringify(env[name])}`;
    const shown = name === 'API_KEY' && env[name] !== undefined ? 'received one that is not (not shown)' : received;
    throw new ConfigError(`${name} must be ${expected}; ${shown}`, { variable: name });
  };
  const required = (name: string, expected: string): string => read(name) ?? fail(name, expected);
  const integer = (name: string, min: number, max: number): number | undefined => {
    const value = read(name);
    if (value === undefined) return undefined;
    const number = /^\d+$/.test(value) ? Number(value) : Number.NaN;
    return Number.isSafeInteger(number) && number >= min && number <= max
      ? number
      : fail(name, `an integer from ${min} to ${max}`);
  };
  const list = (name: string): string[] | undefined =>
    read(name)
      ?.split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');

  const apiKey = required('API_KEY', API_KEY_RULE);
  if (!API_KEY_PATTERN.test(apiKey)) fail('API_KEY', API_KEY_RULE);
  const queueUrl = required('QUEUE_URL', 'the URL of the queue S3 events arrive on');
  if (!/^https?:\/\//.test(queueUrl)) fail('QUEUE_URL', 'an http(s) URL');
  const buckets = list('ALLOWED_BUCKETS') ?? fail('ALLOWED_BUCKETS', 'a comma-separated list of bucket names');
  if (buckets.length === 0 || !buckets.every(isValidBucketName)) {
    fail('ALLOWED_BUCKETS', 'a comma-separated list of bucket names');
  }
  const keyPrefixes = list('ALLOWED_KEY_PREFIXES');
  // Set, but to nothing (empty, blank, only commas: `ALLOWED_KEY_PREFIXES=$PREFIX` with PREFIX
  // unset): a mistake, never a setting that opens the whole bucket.
  if (env.ALLOWED_KEY_PREFIXES !== undefined && !keyPrefixes?.length) {
    fail('ALLOWED_KEY_PREFIXES', 'a comma-separated list of key prefixes');
  }
  const workDir = required('WORK_DIR', 'the directory uploads are downloaded to');
  const port = integer('PORT', 0, 65535) ?? 3000;
  const maxBytes = integer('MAX_BYTES', 1, Number.MAX_SAFE_INTEGER);
  const perMinute = integer('RATE_LIMIT_PER_MINUTE', 1, 1_000_000);
  return {
    apiKey,
    queueUrl,
    allow: keyPrefixes === undefined ? { buckets } : { buckets, keyPrefixes },
    workDir,
    port,
    ...(maxBytes === undefined ? {} : { maxBytes }),
    ...(perMinute === undefined ? {} : { rateLimit: { limit: perMinute, windowMs: 60_000 } }),
  };
}
