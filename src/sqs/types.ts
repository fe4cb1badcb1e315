import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import type { HeartbeatError, S3SyncErrorJSON } from '../errors.ts';

/** A pino-style logger: any of the four methods may be missing. Silent when not given. */
export interface Logger {
  debug?(fields: object, message?: string): void;
  info?(fields: object, message?: string): void;
  warn?(fields: object, message?: string): void;
  error?(fields: object, message?: string): void;
}

/** What a handler gets besides the message. */
export interface HandlerContext {
  /**
   * Aborted at `handlerTimeoutMs` (reason: `HandlerTimeoutError`), at `stop()`'s deadline
   * (`StopDeadlineError`), and when the heartbeat fails or reaches `maxExtensionSeconds`
   * (`HeartbeatError`). Pass it to every call you make.
   */
  readonly signal: AbortSignal;
  /** How many times SQS has delivered this message (1 the first time). */
  readonly receiveCount: number;
}

/** The last argument of every per-message event. */
export interface MessageInfo {
  /** The message's `MessageId` (empty when SQS sent none). */
  readonly messageId: string;
  /** How many times SQS has delivered this message (1 the first time). */
  readonly receiveCount: number;
  /** The message group, on a FIFO queue. */
  readonly groupId?: string;
}

/** Options for {@link SqsListener}. */
export interface SqsListenerOptions {
  /** Your SQS client. */
  readonly client: SQSClient;
  /** The queue's URL. A name ending in `.fifo` is a FIFO queue: see `docs/listener.md`. */
  readonly queueUrl: string;
  /**
   * Handles one message. Resolving deletes the message; throwing (or rejecting) leaves it to come
   * back after `retryDelaySeconds`.
   */
  readonly handleMessage: (message: Message, context: HandlerContext) => Promise<void>;
  /**
   * Handlers in flight at most. A slot that frees is refilled at once, whatever the rest of the
   * batch is doing. Abandoned handlers still running take slots too, but never the last one.
   * @defaultValue 1
   */
  readonly concurrency?: number | undefined;
  /**
   * Messages per receive, 1 to 10 (never more than the free slots, so no message waits in
   * memory while its visibility timeout runs).
   * @defaultValue 10
   */
  readonly batchSize?: number | undefined;
  /**
   * Long-poll wait, 0 to 20 seconds. With 0 (short polling), an empty receive is followed by
   * `emptyReceiveDelayMs` of rest.
   * @defaultValue 20
   */
  readonly waitTimeSeconds?: number | undefined;
  /**
   * With `waitTimeSeconds: 0`, how long to wait after a receive that returned nothing, so an
   * empty queue is not polled back to back.
   * @defaultValue 1000
   */
  readonly emptyReceiveDelayMs?: number | undefined;
  /**
   * Visibility timeout given to received messages, in seconds (1 to 43200; 0 is refused: the
   * listener would receive its own running messages again). The heartbeat keeps a message
   * invisible while its handler runs.
   * @defaultValue 30
   */
  readonly visibilityTimeout?: number | undefined;
  /**
   * How often to extend a held message, in seconds; less than `visibilityTimeout`.
   * @defaultValue a third of `visibilityTimeout`
   */
  readonly heartbeatIntervalSeconds?: number | undefined;
  /**
   * Stop extending a message once it has been held this long in total, in seconds: the
   * handler's signal is aborted (`HeartbeatError`) and the message goes back to the queue.
   * @defaultValue 3600
   */
  readonly maxExtensionSeconds?: number | undefined;
  /**
   * Seconds before a failed message may be received again (its visibility after the failure),
   * from its receive count and the error. Rounded and clamped to 0–43200 (`Infinity` gives
   * 43200); a value that is not a number (`NaN`, `undefined`) or a throw gives the default.
   * @defaultValue 5 × 2^(receiveCount − 1) seconds, at most 900
   */
  readonly retryDelaySeconds?: ((receiveCount: number, error: unknown) => number) | undefined;
  /**
   * After this long the handler is abandoned: its signal is aborted (`HandlerTimeoutError`), the
   * message counts as failed (retry delay, `processing_error`) and is never deleted, even if
   * the handler resolves later.
   * @defaultValue no timeout
   */
  readonly handlerTimeoutMs?: number | undefined;
  /**
   * Message attributes to receive (`['All']` for all).
   * @defaultValue none
   */
  readonly messageAttributeNames?: readonly string[] | undefined;
  /**
   * Waits after a failed receive, before jitter: the first wait is `minMs`, doubling to `maxMs`.
   * Credential, permission and missing-queue errors wait `maxMs` at once. Reset by a success.
   * @defaultValue `{ minMs: 1000, maxMs: 60000 }`
   */
  readonly receiveErrorBackoff?: { readonly minMs?: number; readonly maxMs?: number } | undefined;
  /**
   * Where failures are logged, and where a throwing event listener is reported (without a
   * `warn` method: a process warning). A logger that throws is ignored.
   * @defaultValue silent
   */
  readonly logger?: Logger | undefined;
}

/** Options for {@link SqsListener.stop}. */
export interface StopOptions {
  /**
   * How long running handlers may take to finish. At the deadline their signals are aborted and
   * their messages handed back (visibility 0) for another consumer.
   * @defaultValue 30000
   */
  readonly timeoutMs?: number | undefined;
}

/** What `stop()` resolves with (and `stopped` carries). */
export interface StopResult {
  /** Messages handed back (visibility 0) at the deadline because their handlers were still running. */
  readonly handedBack: number;
  /**
   * Handlers still running that the listener no longer waits for (timed out, or still running
   * at the deadline): their outcome is ignored, their messages are never deleted by them.
   */
  readonly abandoned: number;
}

/** Where the listener is in its lifecycle. */
export type SqsListenerStatus = 'idle' | 'running' | 'stopping' | 'stopped';

/** A JSON-safe form of an error: `toJSON()` of an `S3SyncError`, else its name, code and message. */
export type ErrorSummary =
  | S3SyncErrorJSON
  | {
      readonly name: string;
      readonly message: string;
      /** `ECONNREFUSED`, `AccessDenied`, … when the error carries one. */
      readonly code?: string;
      readonly httpStatusCode?: number;
    };

/** What {@link SqsListener.health} returns: plain data, safe to `JSON.stringify` for `/health`. */
export interface SqsListenerHealth {
  readonly status: SqsListenerStatus;
  /**
   * True while running with a failing receive, or with abandoned handlers still running: a
   * service reports "degraded" then.
   */
  readonly degraded: boolean;
  /** Failed receives since the last successful one. */
  readonly consecutiveReceiveFailures: number;
  /** The last failed receive's error (kept after a success; see `lastReceiveErrorAt`). */
  readonly lastReceiveError?: ErrorSummary;
  readonly lastReceiveErrorAt?: Date;
  /** When a receive last succeeded (with or without messages). */
  readonly lastReceiveAt?: Date;
  /** Messages held now: handlers running, and on a FIFO queue messages waiting for their group. */
  readonly inFlight: number;
  /** Handlers abandoned (timed out, or still running at `stop()`'s deadline) that still run. */
  readonly abandoned: number;
}

/** Why a message was handed back (made visible at once). */
export type HandBackReason =
  /** `stop()`'s deadline came while its handler ran. */
  | 'stop_deadline'
  /** FIFO: an earlier message of its group, from the same receive, failed or was not deleted. */
  | 'group_failed';

/**
 * Events of {@link SqsListener}, with their listener arguments. None of them is `'error'`. Every
 * per-message event ends with a {@link MessageInfo}.
 */
export interface SqsListenerEventMap {
  /** `start()` began polling. */
  started: [];
  /** A message was received; its handler starts now (on a FIFO queue: after its group's earlier ones). */
  message_received: [message: Message, info: MessageInfo];
  /** A handler resolved and the message was deleted. */
  message_processed: [message: Message, info: MessageInfo];
  /**
   * A handler threw, rejected, timed out or resolved after its signal was aborted; the message
   * will come back after `delaySeconds`.
   */
  processing_error: [error: unknown, message: Message, delaySeconds: number, info: MessageInfo];
  /** A receive failed; the next one waits `backoffMs`. */
  receive_error: [error: unknown, backoffMs: number];
  /** A processed message could not be deleted: it will be delivered again. */
  delete_error: [error: unknown, message: Message, info: MessageInfo];
  /** A receive returned no message. */
  empty: [];
  /** A held message was kept invisible for `visibilityTimeout` more seconds. */
  visibility_extended: [message: Message, visibilityTimeout: number, info: MessageInfo];
  /**
   * The heartbeat failed (`error.cause` is the SDK's error) or reached `maxExtensionSeconds` (no
   * cause): the message may be delivered again, so its handler's signal is aborted with `error`.
   */
  heartbeat_error: [error: HeartbeatError, message: Message, info: MessageInfo];
  /** A message was made visible again at once, unhandled. */
  message_handed_back: [message: Message, reason: HandBackReason, info: MessageInfo];
  /** `stop()` finished: no poll, no handler waited for, no pending delete. */
  stopped: [result: StopResult];
}
