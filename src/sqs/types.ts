import type { Message, SQSClient } from '@aws-sdk/client-sqs';

/** A pino-style logger: any of the four methods may be missing. Silent when not given. */
export interface Logger {
  debug?(fields: object, message?: string): void;
  info?(fields: object, message?: string): void;
  warn?(fields: object, message?: string): void;
  error?(fields: object, message?: string): void;
}

/** What a handler gets besides the message. */
export interface HandlerContext {
  /** Aborted at `handlerTimeoutMs`, and at `stop()`'s deadline. Pass it to every call you make. */
  readonly signal: AbortSignal;
  /** How many times SQS has delivered this message (1 the first time). */
  readonly receiveCount: number;
}

/** Options for {@link SqsListener}. */
export interface SqsListenerOptions {
  /** Your SQS client. */
  readonly client: SQSClient;
  readonly queueUrl: string;
  /**
   * Handles one message. Resolving deletes the message; throwing (or rejecting) leaves it to come
   * back after `retryDelaySeconds`.
   */
  readonly handleMessage: (message: Message, context: HandlerContext) => Promise<void>;
  /**
   * Handlers in flight at most. A slot that frees is refilled at once, whatever the rest of the
   * batch is doing.
   * @defaultValue 1
   */
  readonly concurrency?: number;
  /**
   * Messages per receive, 1 to 10 (never more than the free slots, so no message waits in
   * memory while its visibility timeout runs).
   * @defaultValue 10
   */
  readonly batchSize?: number;
  /**
   * Long-poll wait, 0 to 20 seconds.
   * @defaultValue 20
   */
  readonly waitTimeSeconds?: number;
  /**
   * Visibility timeout given to received messages, in seconds (0 to 43200). The heartbeat keeps
   * a message invisible while its handler runs.
   * @defaultValue 30
   */
  readonly visibilityTimeout?: number;
  /**
   * How often to extend a running handler's message, in seconds; less than `visibilityTimeout`.
   * @defaultValue a third of `visibilityTimeout`
   */
  readonly heartbeatIntervalSeconds?: number;
  /**
   * Stop extending a message once it has been held this long in total, in seconds: a handler
   * stuck longer lets its message go back to the queue.
   * @defaultValue 3600
   */
  readonly maxExtensionSeconds?: number;
  /**
   * Seconds before a failed message may be received again (its visibility after the failure),
   * from its receive count and the error.
   * @defaultValue 5 × 2^(receiveCount − 1) seconds, at most 900
   */
  readonly retryDelaySeconds?: (receiveCount: number, error: unknown) => number;
  /** Aborts the handler's `signal` after this long; the message counts as failed and is retried. */
  readonly handlerTimeoutMs?: number;
  /** Message attributes to receive (`['All']` for all). */
  readonly messageAttributeNames?: readonly string[];
  /**
   * Waits after a failed receive, before jitter: the first wait is `minMs`, doubling to `maxMs`.
   * Credential, permission and missing-queue errors wait `maxMs` at once. Reset by a success.
   * @defaultValue `{ minMs: 1000, maxMs: 60000 }`
   */
  readonly receiveErrorBackoff?: { readonly minMs?: number; readonly maxMs?: number };
  readonly logger?: Logger;
}

/** Options for {@link SqsListener.stop}. */
export interface StopOptions {
  /**
   * How long running handlers may take to finish. At the deadline their signals are aborted and
   * their messages handed back (visibility 0) for another consumer.
   * @defaultValue 30000
   */
  readonly timeoutMs?: number;
}

/** Where the listener is in its lifecycle. */
export type SqsListenerStatus = 'idle' | 'running' | 'stopping' | 'stopped';

/** Events of {@link SqsListener}, with their listener arguments. None of them is `'error'`. */
export interface SqsListenerEventMap {
  /** `start()` began polling. */
  started: [];
  /** A message was received and its handler started. */
  message_received: [message: Message];
  /** A handler resolved; the message is queued for (batched) deletion. */
  message_processed: [message: Message];
  /** A handler threw, rejected or timed out; the message will come back after `delaySeconds`. */
  processing_error: [error: unknown, message: Message, delaySeconds: number];
  /** A receive failed; the next one waits `backoffMs`. */
  receive_error: [error: unknown, backoffMs: number];
  /** A processed message could not be deleted: it will be delivered again. */
  delete_error: [error: unknown, message: Message];
  /** A long poll returned no message. */
  empty: [];
  /** A running handler's message was kept invisible for `visibilityTimeout` more seconds. */
  visibility_extended: [message: Message, visibilityTimeout: number];
  /** `stop()` finished: no poll, no handler, no pending delete. */
  stopped: [];
}
