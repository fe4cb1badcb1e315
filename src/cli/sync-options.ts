import { isAbsolute, resolve } from 'node:path';
import {
  type ConfigError,
  isS3SyncError,
  isValidBucketName,
  parseS3Url,
  type S3Location,
  s3SyncOptionsFromEnv,
} from 's3-sqs-sync';
import type { SignalTarget } from './after-update.ts';
import { DEFAULT_EXEC_TIMEOUT_MS } from './after-update.ts';
import { parseChoice, parseDuration, parseFlags, parseInteger, parseSignal, parseSize, UsageError } from './args.ts';
import type { LevelName, LogFormat } from './logger.ts';
import { readQueueFile } from './queue-file.ts';
import type { FileFormat } from './store.ts';

export const SYNC_FLAGS = {
  source: { type: 'string' },
  'allow-bucket': { type: 'string', multiple: true },
  'allow-prefix': { type: 'string', multiple: true },
  'queue-url': { type: 'string' },
  'queue-url-file': { type: 'string' },
  target: { type: 'string' },
  'reconcile-interval': { type: 'string' },
  'wait-time-seconds': { type: 'string' },
  'max-bytes': { type: 'string' },
  'expected-bucket-owner': { type: 'string' },
  'env-prefix': { type: 'string' },
  format: { type: 'string' },
  schema: { type: 'string' },
  'verify-cmd': { type: 'string' },
  'verify-timeout': { type: 'string' },
  exec: { type: 'string' },
  'exec-timeout': { type: 'string' },
  signal: { type: 'string' },
  'pid-file': { type: 'string' },
  pid: { type: 'string' },
  'health-port': { type: 'string' },
  'health-host': { type: 'string' },
  'log-format': { type: 'string' },
  'log-level': { type: 'string' },
  'stop-timeout': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Everything `sync` runs with, resolved once from the flags and the environment. */
export interface SyncConfig {
  readonly queueUrl: string;
  /** Absolute. */
  readonly target: string;
  readonly source?: S3Location;
  readonly allow?: { readonly buckets: readonly string[]; readonly keyPrefixes?: readonly string[] };
  readonly reconcileIntervalMs?: number;
  readonly waitTimeSeconds?: number;
  readonly maxBytes?: number;
  readonly expectedBucketOwner?: string;
  readonly format: FileFormat;
  readonly schema?: string;
  readonly verifyCommand?: string;
  readonly verifyTimeoutMs: number;
  readonly exec?: string;
  readonly signal?: { readonly name: NodeJS.Signals; readonly target: SignalTarget };
  readonly health?: { readonly host: string; readonly port: number };
  readonly logFormat: LogFormat;
  readonly logLevel: LevelName;
  readonly stopTimeoutMs: number;
  /** From --exec-timeout. */
  readonly execTimeoutMs: number;
}

const DEFAULT_VERIFY_TIMEOUT_MS = 30_000;
const DEFAULT_STOP_TIMEOUT_MS = 30_000;

function nonEmpty(flag: string, value: string | undefined): string | undefined {
  if (value !== undefined && value.trim() === '') throw new UsageError(`--${flag} must not be empty`);
  return value;
}

/** Reads the environment as `s3SyncOptionsFromEnv` does; a malformed variable is a usage error naming it. */
function fromEnv(env: NodeJS.ProcessEnv, prefix: string) {
  try {
    return s3SyncOptionsFromEnv(env, { prefix });
  } catch (error) {
    if (isS3SyncError(error)) throw new UsageError((error as ConfigError).message);
    throw error;
  }
}

/** Which variables (behind the prefix) a flag replaces. */
const REPLACED_BY: Readonly<Record<string, readonly string[]>> = {
  'queue-url': ['SQS_QUEUE_URL'],
  'queue-url-file': ['SQS_QUEUE_URL'],
  target: ['JSON_FILE_PATH'],
  'reconcile-interval': ['RECONCILE_INTERVAL_MS'],
  'wait-time-seconds': ['SQS_WAIT_TIME_SECONDS'],
  // What to fetch is one setting with two kinds: a flag of either kind replaces all three variables
  // (an allow-list flag keeps the other half of the list from the environment, read on its own).
  source: ['S3_URL', 'S3_ALLOWED_BUCKETS', 'S3_ALLOWED_KEY_PREFIXES'],
  'allow-bucket': ['S3_URL', 'S3_ALLOWED_BUCKETS', 'S3_ALLOWED_KEY_PREFIXES'],
  'allow-prefix': ['S3_URL', 'S3_ALLOWED_BUCKETS', 'S3_ALLOWED_KEY_PREFIXES'],
};

/**
 * The environment minus what a flag replaces, so that a variable a flag overrides is neither
 * required nor checked: an inherited `S3_URL` cannot conflict with `--allow-bucket`, and
 * `SQS_ENABLED=true` with a malformed `SQS_QUEUE_URL` cannot refuse `--queue-url`. `SQS_ENABLED`
 * always goes: running the command is enabling it, and with it set `s3SyncOptionsFromEnv` would
 * require variables the flags give. What is left is validated as a whole, so a conflict within
 * the environment alone is still refused, naming the variables.
 */
function withoutReplaced(
  env: NodeJS.ProcessEnv,
  prefix: string,
  flags: Readonly<Record<string, unknown>>,
): NodeJS.ProcessEnv {
  const kept = { ...env };
  delete kept[`${prefix}SQS_ENABLED`];
  for (const [flag, suffixes] of Object.entries(REPLACED_BY)) {
    if (flags[flag] === undefined) continue;
    for (const suffix of suffixes) delete kept[prefix + suffix];
  }
  return kept;
}

/** A comma-separated list variable, read as `s3SyncOptionsFromEnv` reads it; set but empty is an error naming it. */
function envList(env: NodeJS.ProcessEnv, name: string): string[] | undefined {
  const value = env[name]?.trim();
  if (value === undefined || value === '') return undefined;
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (items.length === 0)
    throw new UsageError(`${name} must be a comma-separated list, received ${JSON.stringify(value)}`);
  return items;
}

const QUEUE_URL = /^https?:\/\/\S+$/;
const ACCOUNT_ID = /^\d{12}$/;

/**
 * The `sync` command's settings: flags first, then the variables `s3SyncOptionsFromEnv` reads
 * (`MCP_REGISTRY_*` by default; `SQS_ENABLED` is not needed: running the command is enabling it).
 * `help: true` when `--help` was given (nothing else is checked then).
 */
export function parseSyncArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): { readonly help: true } | { readonly help: false; readonly config: SyncConfig } {
  const { values: flags } = parseFlags('sync', argv, SYNC_FLAGS);
  if (flags.help === true) return { help: true };
  const envPrefix = flags['env-prefix'] ?? 'MCP_REGISTRY_';
  const sourceFlag = nonEmpty('source', flags.source);
  const allowFlag = flags['allow-bucket'] !== undefined || flags['allow-prefix'] !== undefined;
  if (sourceFlag !== undefined && allowFlag) {
    throw new UsageError(
      'give --source or --allow-bucket/--allow-prefix, not both (one fixed object, or an allow-list)',
    );
  }
  const envConfig = fromEnv(withoutReplaced(env, envPrefix, flags), envPrefix);

  const queueUrlFlag = nonEmpty('queue-url', flags['queue-url']);
  const queueUrlFile = nonEmpty('queue-url-file', flags['queue-url-file']);
  if (queueUrlFlag !== undefined && queueUrlFile !== undefined) {
    throw new UsageError('give --queue-url or --queue-url-file, not both');
  }
  if (queueUrlFlag !== undefined && !QUEUE_URL.test(queueUrlFlag)) {
    throw new UsageError(`--queue-url must be an SQS queue URL, received ${JSON.stringify(queueUrlFlag)}`);
  }
  const envQueueUrl = envConfig.sqs.queueUrl;
  if (queueUrlFlag === undefined && queueUrlFile === undefined && envQueueUrl !== '' && !QUEUE_URL.test(envQueueUrl)) {
    throw new UsageError(`${envPrefix}SQS_QUEUE_URL must be an SQS queue URL, received ${JSON.stringify(envQueueUrl)}`);
  }
  const queueUrl =
    queueUrlFlag ??
    (queueUrlFile === undefined ? undefined : readQueueFile('queue-url-file', resolve(queueUrlFile)).queueUrl) ??
    envQueueUrl;
  if (queueUrl === '') {
    throw new UsageError(`--queue-url is required (or --queue-url-file, or ${envPrefix}SQS_QUEUE_URL)`);
  }
  const targetFlag = nonEmpty('target', flags.target) ?? envConfig.target;
  if (targetFlag === '') throw new UsageError(`--target is required (or ${envPrefix}JSON_FILE_PATH)`);
  const target = isAbsolute(targetFlag) ? targetFlag : resolve(targetFlag);

  let source: S3Location | undefined = envConfig.source;
  if (sourceFlag !== undefined) {
    try {
      const parsed = parseS3Url(sourceFlag);
      source = { bucket: parsed.bucket, key: parsed.key };
    } catch (error) {
      throw new UsageError(`--source must be an S3 object URL: ${(error as Error).message}`);
    }
    if (source.key === '') throw new UsageError(`--source must name an object, not a bucket: ${sourceFlag}`);
  }
  // One allow-list flag keeps the other half of the list from the environment.
  const buckets =
    flags['allow-bucket'] ?? (allowFlag ? envList(env, `${envPrefix}S3_ALLOWED_BUCKETS`) : envConfig.allow?.buckets);
  const keyPrefixes =
    flags['allow-prefix'] ??
    (allowFlag ? envList(env, `${envPrefix}S3_ALLOWED_KEY_PREFIXES`) : envConfig.allow?.keyPrefixes);
  // Checked here, not first by the pipeline: a name S3 can never have is a mistake in the command
  // line or the environment (exit 2), not a failed start.
  const badBucket = buckets?.find((bucket) => !isValidBucketName(bucket));
  if (badBucket !== undefined) {
    const from = flags['allow-bucket'] !== undefined ? '--allow-bucket' : `${envPrefix}S3_ALLOWED_BUCKETS`;
    throw new UsageError(
      `${from}: ${JSON.stringify(badBucket)} is not an S3 bucket name (3–63 lowercase letters, digits, dots and hyphens)`,
    );
  }
  if (keyPrefixes !== undefined && buckets === undefined) throw new UsageError('--allow-prefix needs --allow-bucket');
  if (source === undefined && buckets === undefined) {
    throw new UsageError('--source or --allow-bucket is required: a message must never choose the bucket');
  }

  const format = parseChoice('format', flags.format, ['json', 'raw'] as const) ?? 'json';
  const schema = nonEmpty('schema', flags.schema);
  if (schema !== undefined && format === 'raw') throw new UsageError('--schema needs --format json');

  const pid = parseInteger('pid', flags.pid, 1, 2 ** 31 - 1);
  const pidFile = nonEmpty('pid-file', flags['pid-file']);
  if (pid !== undefined && pidFile !== undefined) throw new UsageError('give --pid or --pid-file, not both');
  const signalName = parseSignal('signal', flags.signal);
  if (signalName !== undefined && pid === undefined && pidFile === undefined) {
    throw new UsageError('--signal needs --pid-file or --pid');
  }
  const signalTarget: SignalTarget | undefined =
    pid !== undefined ? { pid } : pidFile === undefined ? undefined : { pidFile: resolve(pidFile) };

  const healthPort = parseInteger('health-port', flags['health-port'], 0, 65_535);
  const reconcileIntervalMs =
    parseDuration('reconcile-interval', flags['reconcile-interval']) ?? envConfig.reconcileIntervalMs;
  const waitTimeSeconds =
    parseInteger('wait-time-seconds', flags['wait-time-seconds'], 0, 20) ?? envConfig.sqs.waitTimeSeconds;
  const maxBytes = parseSize('max-bytes', flags['max-bytes']);
  const verifyCommand = nonEmpty('verify-cmd', flags['verify-cmd']);
  const exec = nonEmpty('exec', flags.exec);
  const expectedBucketOwner = nonEmpty('expected-bucket-owner', flags['expected-bucket-owner']);
  if (expectedBucketOwner !== undefined && !ACCOUNT_ID.test(expectedBucketOwner)) {
    throw new UsageError(
      `--expected-bucket-owner must be a 12-digit AWS account id, received ${JSON.stringify(expectedBucketOwner)}`,
    );
  }

  return {
    help: false,
    config: {
      queueUrl,
      target,
      ...(source === undefined ? {} : { source }),
      ...(buckets === undefined ? {} : { allow: { buckets, ...(keyPrefixes === undefined ? {} : { keyPrefixes }) } }),
      ...(reconcileIntervalMs === undefined ? {} : { reconcileIntervalMs }),
      ...(waitTimeSeconds === undefined ? {} : { waitTimeSeconds }),
      ...(maxBytes === undefined ? {} : { maxBytes }),
      ...(expectedBucketOwner === undefined ? {} : { expectedBucketOwner }),
      format,
      ...(schema === undefined ? {} : { schema }),
      ...(verifyCommand === undefined ? {} : { verifyCommand }),
      verifyTimeoutMs: parseDuration('verify-timeout', flags['verify-timeout'], 1) ?? DEFAULT_VERIFY_TIMEOUT_MS,
      ...(exec === undefined ? {} : { exec }),
      ...(signalTarget === undefined ? {} : { signal: { name: signalName ?? 'SIGHUP', target: signalTarget } }),
      ...(healthPort === undefined
        ? {}
        : { health: { host: nonEmpty('health-host', flags['health-host']) ?? '127.0.0.1', port: healthPort } }),
      logFormat: parseChoice('log-format', flags['log-format'], ['json', 'pretty'] as const) ?? 'json',
      logLevel: parseChoice('log-level', flags['log-level'], ['debug', 'info', 'warn', 'error'] as const) ?? 'info',
      stopTimeoutMs: parseDuration('stop-timeout', flags['stop-timeout']) ?? DEFAULT_STOP_TIMEOUT_MS,
      execTimeoutMs: parseDuration('exec-timeout', flags['exec-timeout'], 1) ?? DEFAULT_EXEC_TIMEOUT_MS,
    },
  };
}
