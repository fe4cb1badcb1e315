import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { HeartbeatError } from '../errors.ts';

// How long stop() waits for an aborted call to answer.
const STOP_WAIT_MS = 1_000;

/** What every heartbeat of one listener shares, resolved once at construction. */
export interface HeartbeatSettings {
  readonly client: SQSClient;
  readonly queueUrl: string;
  readonly visibilityTimeout: number;
  readonly intervalMs: number;
  readonly maxExtensionMs: number;
}

/** What the heartbeat of one message reports. */
export interface HeartbeatCallbacks {
  extended(): void;
  /** The heartbeat failed or reached `maxExtensionSeconds`; it has stopped. */
  failed(error: HeartbeatError): void;
}

/**
 * Keeps one message invisible while it is held: every `intervalMs` its visibility is set to
 * `visibilityTimeout` again. One call at a time: the next is scheduled only when the previous
 * has answered, so a call that hangs is not followed by a pile of others. A call still
 * unanswered when the message would become visible again is given up as failed.
 */
export class Heartbeat {
  readonly #settings: HeartbeatSettings;
  readonly #receiptHandle: string | undefined;
  readonly #messageId: string;
  readonly #receivedAt: number;
  readonly #callbacks: HeartbeatCallbacks;
  #timer: NodeJS.Timeout | undefined;
  #call: { readonly done: Promise<void>; readonly controller: AbortController } | undefined;
  #stopped = false;

  constructor(
    settings: HeartbeatSettings,
    receiptHandle: string | undefined,
    messageId: string,
    callbacks: HeartbeatCallbacks,
  ) {
    this.#settings = settings;
    this.#receiptHandle = receiptHandle;
    this.#messageId = messageId;
    this.#receivedAt = Date.now();
    this.#callbacks = callbacks;
    this.#schedule();
  }

  /**
   * Stops beating. A call in flight is aborted and awaited, so that whatever visibility the
   * caller sets next (a retry delay, 0 to hand the message back) is not overwritten by it. The
   * SDK answers an abort at once; a client that does not is waited for at most a second.
   */
  stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const call = this.#call;
    if (call === undefined) return Promise.resolve();
    call.controller.abort();
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, STOP_WAIT_MS);
      timer.unref();
    });
    return Promise.race([call.done, bound]).finally(() => clearTimeout(timer));
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => this.#beat(), this.#settings.intervalMs);
    this.#timer.unref();
  }

  #beat(): void {
    this.#timer = undefined;
    const { client, queueUrl, visibilityTimeout, intervalMs, maxExtensionMs } = this.#settings;
    if (Date.now() - this.#receivedAt + visibilityTimeout * 1000 > maxExtensionMs) {
      this.#fail(
        new HeartbeatError(
          `Message held for maxExtensionSeconds (${maxExtensionMs / 1000} s): no longer kept invisible`,
          { messageId: this.#messageId },
        ),
      );
      return;
    }
    const controller = new AbortController();
    let finished!: () => void;
    const call = { done: new Promise<void>((resolve) => (finished = resolve)), controller, settled: false };
    const settle = (failure: { readonly error: unknown } | undefined) => {
      if (call.settled) return;
      call.settled = true;
      clearTimeout(giveUp);
      this.#call = undefined;
      finished();
      if (this.#stopped) return;
      if (failure === undefined) {
        this.#callbacks.extended();
        this.#schedule();
        return;
      }
      const { error } = failure;
      const reason = error instanceof Error ? error.message : String(error);
      this.#fail(
        new HeartbeatError(`Visibility heartbeat failed: ${reason}`, { messageId: this.#messageId, cause: error }),
      );
    };
    // The message becomes visible again about this long after the previous extension: a later
    // answer is no use, so the call is given up then, whether or not the client honours the abort.
    const answerWithinMs = visibilityTimeout * 1000 - intervalMs;
    const giveUp = setTimeout(() => {
      const error = new Error(`ChangeMessageVisibility got no answer within ${answerWithinMs} ms`);
      controller.abort(error);
      settle({ error });
    }, answerWithinMs);
    giveUp.unref();
    this.#call = call;
    client
      .send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queueUrl,
          ReceiptHandle: this.#receiptHandle,
          VisibilityTimeout: visibilityTimeout,
        }),
        { abortSignal: controller.signal },
      )
      .then(
        () => settle(undefined),
        (error: unknown) => settle({ error }),
      );
  }

  #fail(error: HeartbeatError): void {
    this.#stopped = true;
    this.#callbacks.failed(error);
  }
}
