import type { ReceiveMessageCommandInput, SQSClient } from '@aws-sdk/client-sqs';
import { checkOptionalInteger, checkOptionalPositive } from '../validate.ts';
import { defaultRetryDelaySeconds, MAX_VISIBILITY_SECONDS } from './delays.ts';
import { SQS_BATCH_LIMIT } from './deleter.ts';
import type { HeartbeatSettings } from './heartbeat.ts';
import type { Logger, SqsListenerOptions } from './types.ts';

const DEFAULT_BATCH_SIZE = 10;
const DEFAULT_WAIT_TIME_SECONDS = 20;
const DEFAULT_EMPTY_RECEIVE_DELAY_MS = 1_000;
const DEFAULT_VISIBILITY_TIMEOUT = 30;
const DEFAULT_MAX_EXTENSION_SECONDS = 3600;
const DEFAULT_BACKOFF_MIN_MS = 1_000;
const DEFAULT_BACKOFF_MAX_MS = 60_000;
// setTimeout fires at once for anything longer.
const MAX_TIMER_MS = 2_147_483_647;

/** {@link SqsListenerOptions} checked and with every default applied, once, at construction. */
export interface ListenerSettings {
  readonly client: SQSClient;
  readonly queueUrl: string;
  readonly fifo: boolean;
  readonly handleMessage: SqsListenerOptions['handleMessage'];
  readonly concurrency: number;
  readonly batchSize: number;
  readonly waitTimeSeconds: number;
  readonly emptyReceiveDelayMs: number;
  readonly visibilityTimeout: number;
  readonly heartbeat: HeartbeatSettings;
  readonly retryDelaySeconds: (receiveCount: number, error: unknown) => number;
  readonly handlerTimeoutMs: number | undefined;
  /** Every field of a receive but `MaxNumberOfMessages` and `ReceiveRequestAttemptId`. */
  readonly receiveInput: ReceiveMessageCommandInput;
  readonly backoffMinMs: number;
  readonly backoffMaxMs: number;
  readonly logger: Logger | undefined;
}

/** Checks the options (TypeError / RangeError naming the option and value) and applies defaults. */
export function listenerSettings(options: SqsListenerOptions): ListenerSettings {
  if (typeof options?.client?.send !== 'function') throw new TypeError('Expected `client` to be an SQSClient');
  if (typeof options.queueUrl !== 'string' || options.queueUrl === '') {
    throw new TypeError(`Expected \`queueUrl\` to be a queue URL, received ${String(options.queueUrl)}`);
  }
  if (typeof options.handleMessage !== 'function') throw new TypeError('Expected `handleMessage` to be a function');
  checkOptionalInteger('concurrency', options.concurrency, 1, 10_000);
  checkOptionalInteger('batchSize', options.batchSize, 1, SQS_BATCH_LIMIT);
  checkOptionalInteger('waitTimeSeconds', options.waitTimeSeconds, 0, 20);
  checkOptionalPositive('emptyReceiveDelayMs', options.emptyReceiveDelayMs, false);
  // 0 would make each received message visible again at once: the listener would receive its
  // own running messages over and over. Leaving it to the queue would leave the heartbeat
  // without the period it must keep up with.
  checkOptionalInteger('visibilityTimeout', options.visibilityTimeout, 1, MAX_VISIBILITY_SECONDS);
  checkOptionalPositive('heartbeatIntervalSeconds', options.heartbeatIntervalSeconds, false);
  checkOptionalPositive('maxExtensionSeconds', options.maxExtensionSeconds, false);
  checkOptionalPositive('handlerTimeoutMs', options.handlerTimeoutMs, false);
  if ((options.handlerTimeoutMs ?? 0) > MAX_TIMER_MS) {
    throw new RangeError(
      `Expected \`handlerTimeoutMs\` to be at most ${MAX_TIMER_MS}, received ${options.handlerTimeoutMs}`,
    );
  }
  checkOptionalPositive('receiveErrorBackoff.minMs', options.receiveErrorBackoff?.minMs, false);
  checkOptionalPositive('receiveErrorBackoff.maxMs', options.receiveErrorBackoff?.maxMs, false);
  if (options.retryDelaySeconds !== undefined && typeof options.retryDelaySeconds !== 'function') {
    throw new TypeError('Expected `retryDelaySeconds` to be a function');
  }
  const visibilityTimeout = options.visibilityTimeout ?? DEFAULT_VISIBILITY_TIMEOUT;
  const heartbeatSeconds = options.heartbeatIntervalSeconds ?? visibilityTimeout / 3;
  if (heartbeatSeconds >= visibilityTimeout) {
    throw new RangeError(
      `Expected \`heartbeatIntervalSeconds\` (${heartbeatSeconds}) to be less than \`visibilityTimeout\` (${visibilityTimeout})`,
    );
  }
  // SQS requires the name of every FIFO queue, and only theirs, to end in `.fifo`.
  const fifo = options.queueUrl.endsWith('.fifo');
  const waitTimeSeconds = options.waitTimeSeconds ?? DEFAULT_WAIT_TIME_SECONDS;
  const backoffMinMs = options.receiveErrorBackoff?.minMs ?? DEFAULT_BACKOFF_MIN_MS;
  return {
    client: options.client,
    queueUrl: options.queueUrl,
    fifo,
    handleMessage: options.handleMessage,
    concurrency: options.concurrency ?? 1,
    batchSize: options.batchSize ?? DEFAULT_BATCH_SIZE,
    waitTimeSeconds,
    emptyReceiveDelayMs: options.emptyReceiveDelayMs ?? DEFAULT_EMPTY_RECEIVE_DELAY_MS,
    visibilityTimeout,
    heartbeat: {
      client: options.client,
      queueUrl: options.queueUrl,
      visibilityTimeout,
      intervalMs: heartbeatSeconds * 1000,
      maxExtensionMs: (options.maxExtensionSeconds ?? DEFAULT_MAX_EXTENSION_SECONDS) * 1000,
    },
    retryDelaySeconds: options.retryDelaySeconds ?? defaultRetryDelaySeconds,
    handlerTimeoutMs: options.handlerTimeoutMs,
    receiveInput: {
      QueueUrl: options.queueUrl,
      WaitTimeSeconds: waitTimeSeconds,
      VisibilityTimeout: visibilityTimeout,
      MessageSystemAttributeNames: fifo
        ? ['ApproximateReceiveCount', 'SentTimestamp', 'MessageGroupId', 'SequenceNumber']
        : ['ApproximateReceiveCount', 'SentTimestamp'],
      ...(options.messageAttributeNames === undefined
        ? {}
        : { MessageAttributeNames: [...options.messageAttributeNames] }),
    },
    backoffMinMs,
    backoffMaxMs: Math.max(options.receiveErrorBackoff?.maxMs ?? DEFAULT_BACKOFF_MAX_MS, backoffMinMs),
    logger: options.logger,
  };
}
