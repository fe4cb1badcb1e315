import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { httpStatusOf } from '../aws-errors.ts';
import { TypedEvents } from '../events.ts';
import { checkOptionalInteger, checkOptionalPositive } from '../validate.ts';
import { BatchDeleter, SQS_BATCH_LIMIT } from './deleter.ts';
import type {
  HandlerContext,
  Logger,
  SqsListenerEventMap,
  SqsListenerOptions,
  SqsListenerStatus,
  StopOptions,
} from './types.ts';

const DEFAULT_BATCH_SIZE = 10;
const DEFAULT_WAIT_TIME_SECONDS = 20;
const DEFAULT_VISIBILITY_TIMEOUT = 30;
const DEFAULT_MAX_EXTENSION_SECONDS = 3600;
const DEFAULT_STOP_TIMEOUT_MS = 30_000;
const DEFAULT_BACKOFF_MIN_MS = 1_000;
const DEFAULT_BACKOFF_MAX_MS = 60_000;
// SQS limits: visibility 0..43200 s (12 h), long poll 0..20 s, 1..10 messages per receive.
const MAX_VISIBILITY_SECONDS = 43_200;

/** 5 s, 10 s, 20 s … doubling per delivery, at most 15 minutes. */
export function defaultRetryDelaySeconds(receiveCount: number): number {
  return Math.min(900, 5 * 2 ** Math.min(Math.max(receiveCount - 1, 0), 10));
}

// Errors that will not clear up by themselves soon: wait the longest before the next receive.
const SLOW_RECEIVE_ERRORS = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidSecurity',
  'CredentialsProviderError',
  'QueueDoesNotExist',
  'AWS.SimpleQueueService.NonExistentQueue',
  'KmsAccessDenied',
]);

function isSlowReceiveError(error: unknown): boolean {
  const e = error as { name?: string; Code?: string } | undefined;
  return (
    SLOW_RECEIVE_ERRORS.has(e?.name ?? '') || SLOW_RECEIVE_ERRORS.has(e?.Code ?? '') || httpStatusOf(error) === 403
  );
}

/** Resolves after `ms`, or at once when `signal` aborts; never rejects. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

class HandlerTimeoutError extends Error {
  override readonly name = 'HandlerTimeoutError';
}

class StopDeadlineError extends Error {
  override readonly name = 'StopDeadlineError';
}

interface InFlight {
  readonly message: Message;
  readonly controller: AbortController;
  /** Set at stop()'s deadline: the message was given back; its outcome no longer matters. */
  handedBack: boolean;
  done?: Promise<void>;
}

/**
 * A long-polling SQS consumer with a bound on handlers in flight and no head-of-line blocking:
 * a free slot is refilled at once. Messages are kept invisible while their handler runs
 * (heartbeat), deleted in batches only after it resolves, and made visible again after a retry
 * delay when it fails. `stop()` aborts the open poll, lets handlers finish until a deadline,
 * hands back the messages of those that do not, flushes deletes, and resolves.
 *
 * Delivery is at least once: a message can be handled twice (a handler outliving
 * `maxExtensionSeconds`, a failed delete, a crash), so handlers must be idempotent.
 */
export class SqsListener extends TypedEvents<SqsListenerEventMap> {
  readonly #client: SQSClient;
  readonly #queueUrl: string;
  readonly #handleMessage: SqsListenerOptions['handleMessage'];
  readonly #concurrency: number;
  readonly #batchSize: number;
  readonly #waitTimeSeconds: number;
  readonly #visibilityTimeout: number;
  readonly #heartbeatMs: number;
  readonly #maxExtensionMs: number;
  readonly #retryDelaySeconds: (receiveCount: number, error: unknown) => number;
  readonly #handlerTimeoutMs: number | undefined;
  readonly #messageAttributeNames: readonly string[] | undefined;
  readonly #backoffMinMs: number;
  readonly #backoffMaxMs: number;
  readonly #logger: Logger;
  readonly #deleter: BatchDeleter;
  readonly #inFlight = new Set<InFlight>();
  #status: SqsListenerStatus = 'idle';
  #polling = new AbortController();
  #loop: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #slotWaiter: (() => void) | undefined;

  constructor(options: SqsListenerOptions) {
    super();
    if (typeof options?.client?.send !== 'function') throw new TypeError('Expected `client` to be an SQSClient');
    if (typeof options.queueUrl !== 'string' || options.queueUrl === '') {
      throw new TypeError(`Expected \`queueUrl\` to be a queue URL, received ${String(options.queueUrl)}`);
    }
    if (typeof options.handleMessage !== 'function') throw new TypeError('Expected `handleMessage` to be a function');
    checkOptionalInteger('concurrency', options.concurrency, 1, 10_000);
    checkOptionalInteger('batchSize', options.batchSize, 1, SQS_BATCH_LIMIT);
    checkOptionalInteger('waitTimeSeconds', options.waitTimeSeconds, 0, 20);
    checkOptionalInteger('visibilityTimeout', options.visibilityTimeout, 0, MAX_VISIBILITY_SECONDS);
    checkOptionalPositive('heartbeatIntervalSeconds', options.heartbeatIntervalSeconds, false);
    checkOptionalPositive('maxExtensionSeconds', options.maxExtensionSeconds, false);
    checkOptionalPositive('handlerTimeoutMs', options.handlerTimeoutMs, false);
    checkOptionalPositive('receiveErrorBackoff.minMs', options.receiveErrorBackoff?.minMs, false);
    checkOptionalPositive('receiveErrorBackoff.maxMs', options.receiveErrorBackoff?.maxMs, false);
    if (options.retryDelaySeconds !== undefined && typeof options.retryDelaySeconds !== 'function') {
      throw new TypeError('Expected `retryDelaySeconds` to be a function');
    }
    this.#client = options.client;
    this.#queueUrl = options.queueUrl;
    this.#handleMessage = options.handleMessage;
    this.#concurrency = options.concurrency ?? 1;
    this.#batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    this.#waitTimeSeconds = options.waitTimeSeconds ?? DEFAULT_WAIT_TIME_SECONDS;
    this.#visibilityTimeout = options.visibilityTimeout ?? DEFAULT_VISIBILITY_TIMEOUT;
    const heartbeatSeconds = options.heartbeatIntervalSeconds ?? this.#visibilityTimeout / 3;
    if (this.#visibilityTimeout > 0 && heartbeatSeconds >= this.#visibilityTimeout) {
      throw new RangeError(
        `Expected \`heartbeatIntervalSeconds\` (${heartbeatSeconds}) to be less than \`visibilityTimeout\` (${this.#visibilityTimeout})`,
      );
    }
    this.#heartbeatMs = heartbeatSeconds * 1000;
    this.#maxExtensionMs = (options.maxExtensionSeconds ?? DEFAULT_MAX_EXTENSION_SECONDS) * 1000;
    this.#retryDelaySeconds = options.retryDelaySeconds ?? defaultRetryDelaySeconds;
    this.#handlerTimeoutMs = options.handlerTimeoutMs;
    this.#messageAttributeNames = options.messageAttributeNames;
    this.#backoffMinMs = options.receiveErrorBackoff?.minMs ?? DEFAULT_BACKOFF_MIN_MS;
    this.#backoffMaxMs = Math.max(options.receiveErrorBackoff?.maxMs ?? DEFAULT_BACKOFF_MAX_MS, this.#backoffMinMs);
    this.#logger = options.logger ?? {};
    this.#deleter = new BatchDeleter(this.#client, this.#queueUrl, (error, message) => {
      this.#logger.warn?.({ err: error, messageId: message.MessageId }, 'delete failed');
      this.emit('delete_error', error, message);
    });
  }

  /** Where the listener is: `idle`, `running`, `stopping` or `stopped`. */
  get status(): SqsListenerStatus {
    return this.#status;
  }

  /** Handlers running now. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Starts polling. Safe to call twice; after `stop()` has resolved, starts again. */
  start(): void {
    if (this.#status === 'running') return;
    if (this.#status === 'stopping') throw new Error('SqsListener is stopping: await stop() before start()');
    this.#status = 'running';
    this.#stopping = undefined;
    this.#polling = new AbortController();
    this.#logger.info?.({ queueUrl: this.#queueUrl }, 'listener started');
    this.emit('started');
    this.#loop = this.#poll(this.#polling.signal);
  }

  /**
   * Stops: aborts the open long poll at once, lets running handlers finish until `timeoutMs`,
   * then aborts their signals and hands their messages back (visibility 0), flushes pending
   * deletes, emits `stopped` and resolves. Calling it again returns the same promise.
   */
  stop(options: StopOptions = {}): Promise<void> {
    if (this.#stopping !== undefined) return this.#stopping;
    if (this.#status !== 'running') return Promise.resolve();
    checkOptionalPositive('timeoutMs', options.timeoutMs, false);
    this.#status = 'stopping';
    this.#polling.abort();
    this.#slotWaiter?.();
    this.#stopping = this.#drain(options.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS);
    return this.#stopping;
  }

  async #drain(timeoutMs: number): Promise<void> {
    await this.#loop;
    const running = [...this.#inFlight];
    const settled = Promise.allSettled(running.map((entry) => entry.done));
    let deadline: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      settled.then(() => false),
      new Promise<boolean>((resolve) => {
        deadline = setTimeout(() => resolve(true), timeoutMs);
      }),
    ]);
    clearTimeout(deadline);
    if (timedOut) await this.#handBack([...this.#inFlight]);
    await this.#deleter.flush();
    this.#status = 'stopped';
    this.#logger.info?.({ queueUrl: this.#queueUrl }, 'listener stopped');
    this.emit('stopped');
  }

  /** Gives the messages of unfinished handlers back to the queue at once (visibility 0). */
  async #handBack(entries: InFlight[]): Promise<void> {
    for (const entry of entries) {
      entry.handedBack = true;
      entry.controller.abort(new StopDeadlineError('stop() deadline reached'));
      this.#inFlight.delete(entry);
    }
    for (let i = 0; i < entries.length; i += SQS_BATCH_LIMIT) {
      const batch = entries.slice(i, i + SQS_BATCH_LIMIT);
      await this.#client
        .send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.#queueUrl,
            Entries: batch.map((entry, j) => ({
              Id: String(j),
              ReceiptHandle: entry.message.ReceiptHandle,
              VisibilityTimeout: 0,
            })),
          }),
        )
        .catch((error: unknown) => this.#logger.warn?.({ err: error }, 'handing messages back failed'));
    }
  }

  async #poll(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      await this.#freeSlot();
      if (signal.aborted) break;
      const room = Math.min(this.#batchSize, this.#concurrency - this.#inFlight.size);
      let messages: Message[];
      try {
        const output = await this.#client.send(
          new ReceiveMessageCommand({
            QueueUrl: this.#queueUrl,
            MaxNumberOfMessages: room,
            WaitTimeSeconds: this.#waitTimeSeconds,
            VisibilityTimeout: this.#visibilityTimeout,
            MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
            ...(this.#messageAttributeNames === undefined
              ? {}
              : { MessageAttributeNames: [...this.#messageAttributeNames] }),
          }),
          { abortSignal: signal },
        );
        messages = output.Messages ?? [];
        failures = 0;
      } catch (error) {
        if (signal.aborted) break;
        failures++;
        const backoffMs = this.#backoff(error, failures);
        this.#logger.warn?.({ err: error, backoffMs }, 'receive failed');
        this.emit('receive_error', error, backoffMs);
        await pause(backoffMs, signal);
        continue;
      }
      if (messages.length === 0) {
        this.emit('empty');
        continue;
      }
      for (const message of messages) this.#dispatch(message);
    }
  }

  /** Equal jitter: at least half the step, so failures never turn into a hot loop. */
  #backoff(error: unknown, failures: number): number {
    const step = isSlowReceiveError(error)
      ? this.#backoffMaxMs
      : Math.min(this.#backoffMaxMs, this.#backoffMinMs * 2 ** Math.min(failures - 1, 30));
    return Math.round(step / 2 + Math.random() * (step / 2));
  }

  #freeSlot(): Promise<void> {
    if (this.#inFlight.size < this.#concurrency) return Promise.resolve();
    return new Promise((resolve) => {
      this.#slotWaiter = () => {
        this.#slotWaiter = undefined;
        resolve();
      };
    });
  }

  #dispatch(message: Message): void {
    const entry: InFlight = { message, controller: new AbortController(), handedBack: false };
    this.#inFlight.add(entry);
    this.emit('message_received', message);
    entry.done = this.#run(entry).finally(() => {
      this.#inFlight.delete(entry);
      this.#slotWaiter?.();
    });
  }

  async #run(entry: InFlight): Promise<void> {
    const { message, controller } = entry;
    const receiveCount = Number(message.Attributes?.ApproximateReceiveCount ?? 1) || 1;
    const receivedAt = Date.now();
    const heartbeat =
      this.#visibilityTimeout > 0
        ? setInterval(() => void this.#extend(entry, receivedAt), this.#heartbeatMs)
        : undefined;
    heartbeat?.unref();
    const timeout =
      this.#handlerTimeoutMs === undefined
        ? undefined
        : setTimeout(
            () => controller.abort(new HandlerTimeoutError(`Handler timed out after ${this.#handlerTimeoutMs} ms`)),
            this.#handlerTimeoutMs,
          );
    timeout?.unref();
    const context: HandlerContext = { signal: controller.signal, receiveCount };
    try {
      await this.#handleMessage(message, context);
      // A handler that outlived its timeout is not trusted, even if it resolved.
      if (controller.signal.aborted) throw controller.signal.reason;
      if (entry.handedBack) return;
      this.#deleter.add(message);
      this.emit('message_processed', message);
    } catch (error) {
      if (entry.handedBack) return;
      await this.#retryLater(message, receiveCount, error);
    } finally {
      clearInterval(heartbeat);
      clearTimeout(timeout);
    }
  }

  async #retryLater(message: Message, receiveCount: number, error: unknown): Promise<void> {
    let delaySeconds = this.#visibilityTimeout;
    try {
      const chosen = this.#retryDelaySeconds(receiveCount, error);
      delaySeconds = Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.round(Number.isFinite(chosen) ? chosen : 0)));
    } catch (delayError) {
      this.#logger.warn?.({ err: delayError }, 'retryDelaySeconds threw; keeping the visibility timeout');
    }
    this.#logger.warn?.({ err: error, messageId: message.MessageId, delaySeconds }, 'handler failed');
    this.emit('processing_error', error, message, delaySeconds);
    try {
      await this.#client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.#queueUrl,
          ReceiptHandle: message.ReceiptHandle,
          VisibilityTimeout: delaySeconds,
        }),
      );
    } catch (changeError) {
      // The message still comes back when its current visibility timeout runs out.
      this.#logger.warn?.({ err: changeError, messageId: message.MessageId }, 'could not set the retry delay');
    }
  }

  async #extend(entry: InFlight, receivedAt: number): Promise<void> {
    if (entry.handedBack || entry.controller.signal.aborted) return;
    if (Date.now() - receivedAt + this.#visibilityTimeout * 1000 > this.#maxExtensionMs) return;
    try {
      await this.#client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.#queueUrl,
          ReceiptHandle: entry.message.ReceiptHandle,
          VisibilityTimeout: this.#visibilityTimeout,
        }),
      );
      this.emit('visibility_extended', entry.message, this.#visibilityTimeout);
    } catch (error) {
      this.#logger.warn?.({ err: error, messageId: entry.message.MessageId }, 'visibility extension failed');
    }
  }
}
