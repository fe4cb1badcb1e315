import type { SNSClient } from '@aws-sdk/client-sns';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { checkOptionalInteger } from '../validate.ts';
import {
  checkClient,
  checkNamePart,
  checkSignal,
  checkTopicArn,
  DEFAULT_REPLICA_QUEUE_PREFIX,
  MAX_QUEUE_NAME_LENGTH,
} from './replica-common.ts';

/** Options for `createReplicaQueue` (validated here, before any call is sent). */
export interface CreateReplicaQueueOptions {
  /** Your SQS client, in the region (and account) the queue is created in. */
  readonly sqs: SQSClient;
  /** Your SNS client, in the topic's region. `@aws-sdk/client-sns` is loaded only when this runs. */
  readonly sns: SNSClient;
  /** The standard SNS topic S3 publishes its event notifications to. */
  readonly topicArn: string;
  /**
   * Start of the queue name; the sweeper finds replica queues by it, and an IAM policy can limit
   * `sqs:CreateQueue` to it.
   * @defaultValue `'s3-sqs-sync-replica-'`
   */
  readonly prefix?: string | undefined;
  /**
   * The rest of the queue name. A stable id (a pod name) lets a restarted replica pick up its old
   * queue and the messages sent while it was down; but a name deleted less than 60 s ago cannot be
   * created again (SQS `QueueDeletedRecently`).
   * @defaultValue 12 random hexadecimal digits, new on every call
   */
  readonly replicaId?: string | undefined;
  /**
   * More queue attributes (`VisibilityTimeout`, `KmsMasterKeyId`, `MessageRetentionPeriod`, …),
   * as SQS takes them. `Policy` and `FifoQueue` are set here and refused.
   * @defaultValue `{ MessageRetentionPeriod: '3600' }`
   */
  readonly queueAttributes?: Readonly<Record<string, string>> | undefined;
  /** More tags for the queue (cost allocation, owner). Keys starting `s3-sqs-sync:` are reserved. */
  readonly tags?: Readonly<Record<string, string>> | undefined;
  /**
   * Deliver the published message as the SQS body, without the SNS envelope (smaller, and the
   * same body a queue fed by S3 directly gets). The pipeline reads both forms.
   * @defaultValue true
   */
  readonly rawMessageDelivery?: boolean | undefined;
  /** An SNS filter policy, as an object or its JSON, so the queue gets only the events it wants. */
  readonly filterPolicy?: string | Readonly<Record<string, unknown>> | undefined;
  /**
   * What `filterPolicy` is matched against. S3 event notifications carry no message attributes,
   * so only `MessageBody` can filter them (SNS's own default is `MessageAttributes`).
   * @defaultValue `'MessageBody'`
   */
  readonly filterPolicyScope?: 'MessageBody' | 'MessageAttributes' | undefined;
  /**
   * How often the handle refreshes the queue's `s3-sqs-sync:last-seen` tag, in ms; `0` turns the
   * timer off (call `touch()` yourself). Give the sweeper an `olderThanMs` several times this.
   * @defaultValue 300000 (5 minutes)
   */
  readonly heartbeatIntervalMs?: number | undefined;
  /**
   * Called when a timed heartbeat fails. A `NotFoundError` means the queue was deleted under a live
   * replica: it hears of no change until it makes a new queue.
   * @defaultValue a process warning
   */
  readonly onHeartbeatError?: ((error: unknown) => void) | undefined;
  /** Aborts the set-up (`ERR_ABORTED`); whatever was created is removed. */
  readonly signal?: AbortSignal | undefined;
}

const RESERVED_ATTRIBUTES = new Set(['Policy', 'FifoQueue']);
const RESERVED_TAG_PREFIX = 's3-sqs-sync:';

function checkStringRecord(name: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`Expected \`${name}\` to be an object of strings, received ${String(value)}`);
  }
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') {
      throw new TypeError(`Expected \`${name}.${key}\` to be a string, received ${String(item)}`);
    }
  }
}

export function validateCreateOptions(options: CreateReplicaQueueOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`Expected options to be an object, received ${String(options)}`);
  }
  checkClient('sqs', options.sqs);
  checkClient('sns', options.sns);
  checkTopicArn('topicArn', options.topicArn);
  if (options.prefix !== undefined) checkNamePart('prefix', options.prefix);
  if (options.replicaId !== undefined) checkNamePart('replicaId', options.replicaId);
  const name = (options.prefix ?? DEFAULT_REPLICA_QUEUE_PREFIX) + (options.replicaId ?? 'x'.repeat(12));
  if (name.length > MAX_QUEUE_NAME_LENGTH) {
    throw new RangeError(
      `Expected \`prefix\` + \`replicaId\` to be at most ${MAX_QUEUE_NAME_LENGTH} characters, received ${name.length}`,
    );
  }
  checkStringRecord('queueAttributes', options.queueAttributes);
  for (const key of Object.keys(options.queueAttributes ?? {})) {
    if (RESERVED_ATTRIBUTES.has(key)) {
      throw new TypeError(`Expected \`queueAttributes\` not to set ${key}: the replica queue sets it`);
    }
  }
  checkStringRecord('tags', options.tags);
  for (const key of Object.keys(options.tags ?? {})) {
    if (key.startsWith(RESERVED_TAG_PREFIX)) {
      throw new TypeError(`Expected \`tags\` not to use the reserved key ${key}`);
    }
  }
  if (options.rawMessageDelivery !== undefined && typeof options.rawMessageDelivery !== 'boolean') {
    throw new TypeError(
      `Expected \`rawMessageDelivery\` to be a boolean, received ${String(options.rawMessageDelivery)}`,
    );
  }
  const filter = options.filterPolicy;
  if (filter !== undefined && typeof filter !== 'string' && (typeof filter !== 'object' || filter === null)) {
    throw new TypeError(`Expected \`filterPolicy\` to be an object or a JSON string, received ${String(filter)}`);
  }
  const scope = options.filterPolicyScope;
  if (scope !== undefined && scope !== 'MessageBody' && scope !== 'MessageAttributes') {
    throw new TypeError(`Expected \`filterPolicyScope\` to be 'MessageBody' or 'MessageAttributes', received ${scope}`);
  }
  checkOptionalInteger('heartbeatIntervalMs', options.heartbeatIntervalMs, 0, 2 ** 31 - 1);
  if (options.onHeartbeatError !== undefined && typeof options.onHeartbeatError !== 'function') {
    throw new TypeError(`Expected \`onHeartbeatError\` to be a function, received ${String(options.onHeartbeatError)}`);
  }
  checkSignal(options.signal);
}
