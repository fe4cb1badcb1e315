import type { SNSClient } from '@aws-sdk/client-sns';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { AbortedError, AccessDeniedError, NotFoundError, S3SyncError } from '../errors.ts';

/**
 * What the replica-queue helper and its sweeper share: the tags that mark a replica queue, name
 * and ARN checks, the lazy SNS import, and the mapping of SDK failures. Internal.
 */

/** Name prefix of replica queues when none is given. */
export const DEFAULT_REPLICA_QUEUE_PREFIX = 's3-sqs-sync-replica-';

/** Tag keys written on every replica queue. */
export const REPLICA_TAGS = {
  /** Always `replica-queue`: the sweeper never deletes a queue without it. */
  role: 's3-sqs-sync:role',
  /** The topic the queue is subscribed to. */
  topic: 's3-sqs-sync:topic',
  /** The replica's id (the queue name without the prefix). */
  replica: 's3-sqs-sync:replica',
  /** When the replica last said it was alive, as an ISO 8601 time. */
  lastSeen: 's3-sqs-sync:last-seen',
} as const;

export const REPLICA_ROLE = 'replica-queue';

// SQS queue names: 1–80 of these characters. FIFO names (`.fifo`) are refused on purpose: S3 event
// notifications go to standard topics only, and a standard topic cannot feed a FIFO queue.
const NAME_PART = /^[A-Za-z0-9_-]+$/;
export const MAX_QUEUE_NAME_LENGTH = 80;
// An SQS tag value holds at most 256 characters, and the topic ARN is kept in one.
const MAX_TAG_VALUE_LENGTH = 256;
const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;

export function checkClient(name: string, value: unknown): void {
  if (typeof (value as { send?: unknown } | undefined)?.send !== 'function') {
    throw new TypeError(`Expected \`${name}\` to be an AWS SDK v3 client, received ${String(value)}`);
  }
}

export function checkTopicArn(name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || !TOPIC_ARN.test(value)) {
    throw new TypeError(`Expected \`${name}\` to be a standard SNS topic ARN, received ${String(value)}`);
  }
  if (value.length > MAX_TAG_VALUE_LENGTH) {
    throw new RangeError(
      `Expected \`${name}\` to be at most ${MAX_TAG_VALUE_LENGTH} characters (it is kept in a queue tag), received ${value.length}`,
    );
  }
}

export function checkNamePart(name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || !NAME_PART.test(value)) {
    throw new TypeError(
      `Expected \`${name}\` to be letters, digits, hyphens or underscores (an SQS queue name), received ${String(value)}`,
    );
  }
  if (value.length > MAX_QUEUE_NAME_LENGTH - 1) {
    throw new RangeError(
      `Expected \`${name}\` to be at most ${MAX_QUEUE_NAME_LENGTH - 1} characters, received ${value}`,
    );
  }
}

export function checkSignal(value: unknown): void {
  if (value !== undefined && !(value instanceof AbortSignal)) {
    throw new TypeError(`Expected \`signal\` to be an AbortSignal, received ${String(value)}`);
  }
}

/** The queue name a URL ends with. */
export function queueNameOf(queueUrl: string): string {
  return queueUrl.slice(queueUrl.lastIndexOf('/') + 1);
}

let snsModule: Promise<typeof import('@aws-sdk/client-sns')> | undefined;

/**
 * `@aws-sdk/client-sns` is an optional peer dependency: loaded on first use, so importing this
 * package never requires it.
 */
export function loadSns(): Promise<typeof import('@aws-sdk/client-sns')> {
  snsModule ??= import('@aws-sdk/client-sns');
  return snsModule;
}

interface SdkErrorShape {
  readonly name?: string;
  readonly Code?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

const QUEUE_MISSING = new Set(['QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue']);
const SNS_NOT_FOUND = new Set(['NotFound', 'NotFoundException']);
const DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'AuthorizationError', 'AuthorizationErrorException']);

function errorName(error: unknown): string {
  const e = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  return e.name ?? e.Code ?? '';
}

export function isQueueMissing(error: unknown): boolean {
  return QUEUE_MISSING.has(errorName(error));
}

export function isSnsNotFound(error: unknown): boolean {
  return SNS_NOT_FOUND.has(errorName(error)) || (error as SdkErrorShape | undefined)?.$metadata?.httpStatusCode === 404;
}

/**
 * Sends one command with the caller's signal, and maps the failures that have a typed error:
 * an abort → `ERR_ABORTED`, a refusal → `ERR_ACCESS_DENIED`. Anything else is the SDK's error.
 */
export async function send<Output>(
  // Typed loosely on purpose: the SQS and SNS clients' `send` overloads do not unify.
  client: SQSClient | SNSClient,
  command: unknown,
  action: string,
  signal: AbortSignal | undefined,
): Promise<Output> {
  if (signal?.aborted) throw new AbortedError(`${action} aborted`, { cause: signal.reason });
  try {
    const sendOne = client.send.bind(client) as (command: unknown, options: object) => Promise<Output>;
    return await sendOne(command, signal === undefined ? {} : { abortSignal: signal });
  } catch (error) {
    throw mapError(error, action, signal);
  }
}

export function mapError(error: unknown, action: string, signal: AbortSignal | undefined): unknown {
  if (error instanceof S3SyncError) return error;
  if (signal?.aborted) return new AbortedError(`${action} aborted`, { cause: signal.reason });
  if (DENIED.has(errorName(error))) {
    return new AccessDeniedError(`${action} was refused (${errorName(error)}): check the IAM policy`, { cause: error });
  }
  return error;
}

export function queueGone(queueUrl: string, error: unknown): NotFoundError {
  return new NotFoundError(`Replica queue ${queueUrl} no longer exists (deleted by a sweep?)`, { cause: error });
}
