import { ConfigError } from '../errors.ts';
import { parseS3Url, type S3Location } from '../url/s3-url.ts';
import type { AllowList } from './policy.ts';

/** Options for {@link s3SyncOptionsFromEnv}. */
export interface S3SyncEnvOptions {
  /**
   * Prefix of every variable name.
   * @defaultValue 'MCP_REGISTRY_'
   */
  readonly prefix?: string | undefined;
}

/** What the environment configures; add your clients to make `S3SyncOptions`. */
export interface S3SyncEnvConfig {
  /** `SQS_ENABLED`: `true`/`1`/`yes`/`on` or `false`/`0`/`no`/`off` (the default). When false, nothing else is required. */
  readonly enabled: boolean;
  /** `SQS_QUEUE_URL`, and `SQS_WAIT_TIME_SECONDS` (0 to 20) when set. */
  readonly sqs: { readonly queueUrl: string; readonly waitTimeSeconds?: number };
  /** `JSON_FILE_PATH`: the file to keep in step. */
  readonly target: string;
  /** `S3_URL`: one fixed object (any form `parseS3Url` accepts). */
  readonly source?: S3Location;
  /** `S3_ALLOWED_BUCKETS` (comma-separated) and `S3_ALLOWED_KEY_PREFIXES` (comma-separated). */
  readonly allow?: AllowList;
  /** `RECONCILE_INTERVAL_MS` (0 turns it off). */
  readonly reconcileIntervalMs?: number;
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off', '']);

/**
 * Reads the pipeline's settings from environment variables, with the names the Go MCP registry
 * uses (`MCP_REGISTRY_SQS_ENABLED`, `MCP_REGISTRY_SQS_QUEUE_URL`, `MCP_REGISTRY_JSON_FILE_PATH`)
 * and a few more (`S3_URL`, `S3_ALLOWED_BUCKETS`, `S3_ALLOWED_KEY_PREFIXES`,
 * `SQS_WAIT_TIME_SECONDS`, `RECONCILE_INTERVAL_MS`), all behind `prefix`.
 *
 * ```ts
 * const config = s3SyncOptionsFromEnv(process.env);
 * if (config.enabled) {
 *   const sync = createS3Sync({ ...config, sqs: { ...config.sqs, client: sqs }, s3: { client: s3 } });
 * }
 * ```
 *
 * @throws {ConfigError} `ERR_CONFIG`, naming the variable, for a missing or malformed value.
 */
export function s3SyncOptionsFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
  options: S3SyncEnvOptions = {},
): S3SyncEnvConfig {
  const prefix = options.prefix ?? 'MCP_REGISTRY_';
  if (typeof prefix !== 'string') throw new TypeError('Expected `prefix` to be a string');
  const name = (suffix: string) => `${prefix}${suffix}`;
  const read = (suffix: string): string | undefined => {
    const value = env[name(suffix)]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const fail = (suffix: string, expected: string): never => {
    throw new ConfigError(`${name(suffix)} must be ${expected}, received ${JSON.stringify(env[name(suffix)])}`, {
      variable: name(suffix),
    });
  };
  const integer = (suffix: string, min: number, max: number): number | undefined => {
    const value = read(suffix);
    if (value === undefined) return undefined;
    const number = /^\d+$/.test(value) ? Number(value) : Number.NaN;
    return Number.isSafeInteger(number) && number >= min && number <= max
      ? number
      : fail(suffix, `an integer from ${min} to ${max}`);
  };
  const list = (suffix: string): string[] | undefined =>
    read(suffix)
      ?.split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');

  const enabledValue = (env[name('SQS_ENABLED')] ?? '').trim().toLowerCase();
  if (!TRUE.has(enabledValue) && !FALSE.has(enabledValue)) fail('SQS_ENABLED', '`true` or `false`');
  const enabled = TRUE.has(enabledValue);

  const queueUrl = read('SQS_QUEUE_URL');
  if (enabled && (queueUrl === undefined || !/^https?:\/\/\S+$/.test(queueUrl))) fail('SQS_QUEUE_URL', 'a queue URL');
  const target = read('JSON_FILE_PATH');
  if (enabled && target === undefined) fail('JSON_FILE_PATH', 'a file path');

  let source: S3Location | undefined;
  const url = read('S3_URL');
  if (url !== undefined) {
    try {
      const parsed = parseS3Url(url);
      source = { bucket: parsed.bucket, key: parsed.key };
    } catch (error) {
      throw new ConfigError(`${name('S3_URL')} must be an S3 object URL: ${(error as Error).message}`, {
        variable: name('S3_URL'),
        cause: error,
      });
    }
  }
  const buckets = list('S3_ALLOWED_BUCKETS');
  if (buckets?.length === 0) fail('S3_ALLOWED_BUCKETS', 'a comma-separated list of bucket names');
  const keyPrefixes = list('S3_ALLOWED_KEY_PREFIXES');
  if (keyPrefixes?.length === 0) fail('S3_ALLOWED_KEY_PREFIXES', 'a comma-separated list of key prefixes');
  if (source !== undefined && buckets !== undefined) {
    fail('S3_ALLOWED_BUCKETS', `unset when ${name('S3_URL')} is set (a fixed source, or an allow-list, not both)`);
  }
  if (keyPrefixes !== undefined && buckets === undefined)
    fail('S3_ALLOWED_BUCKETS', 'set with S3_ALLOWED_KEY_PREFIXES');
  if (enabled && source === undefined && buckets === undefined) {
    fail('S3_URL', `set (or ${name('S3_ALLOWED_BUCKETS')}): a message must never choose the bucket`);
  }
  const waitTimeSeconds = integer('SQS_WAIT_TIME_SECONDS', 0, 20);
  const reconcileIntervalMs = integer('RECONCILE_INTERVAL_MS', 0, 2 ** 31 - 1);

  return {
    enabled,
    sqs: { queueUrl: queueUrl ?? '', ...(waitTimeSeconds === undefined ? {} : { waitTimeSeconds }) },
    target: target ?? '',
    ...(source === undefined ? {} : { source }),
    ...(buckets === undefined ? {} : { allow: { buckets, ...(keyPrefixes === undefined ? {} : { keyPrefixes }) } }),
    ...(reconcileIntervalMs === undefined ? {} : { reconcileIntervalMs }),
  };
}
