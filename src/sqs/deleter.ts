import { DeleteMessageBatchCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';

/** SQS takes at most ten entries per batch call. */
export const SQS_BATCH_LIMIT = 10;
// How long a processed message may wait for company before its batch is sent.
const FLUSH_DELAY_MS = 10;

/**
 * Deletes processed messages in batches of up to ten. Every entry that fails, and every entry of
 * a batch call that fails, is reported through `onError`: nothing is dropped silently.
 */
export class BatchDeleter {
  readonly #client: SQSClient;
  readonly #queueUrl: string;
  readonly #onError: (error: unknown, message: Message) => void;
  #queued: Message[] = [];
  #timer: NodeJS.Timeout | undefined;
  readonly #sending = new Set<Promise<void>>();

  constructor(client: SQSClient, queueUrl: string, onError: (error: unknown, message: Message) => void) {
    this.#client = client;
    this.#queueUrl = queueUrl;
    this.#onError = onError;
  }

  add(message: Message): void {
    this.#queued.push(message);
    if (this.#queued.length >= SQS_BATCH_LIMIT) {
      this.#sendQueued();
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.#sendQueued(), FLUSH_DELAY_MS);
      this.#timer.unref();
    }
  }

  /** Sends everything queued and waits for every batch in flight. */
  async flush(): Promise<void> {
    this.#sendQueued();
    await Promise.all(this.#sending);
  }

  #sendQueued(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#queued.length > 0) {
      const batch = this.#queued.splice(0, SQS_BATCH_LIMIT);
      const sending = this.#send(batch).finally(() => this.#sending.delete(sending));
      this.#sending.add(sending);
    }
  }

  async #send(batch: Message[]): Promise<void> {
    try {
      const { Failed = [] } = await this.#client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.#queueUrl,
          Entries: batch.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle })),
        }),
      );
      for (const failure of Failed) {
        const message = batch[Number(failure.Id)];
        const error = Object.assign(
          new Error(`DeleteMessageBatch entry failed: ${failure.Code} ${failure.Message ?? ''}`.trim()),
          {
            code: failure.Code,
            senderFault: failure.SenderFault,
          },
        );
        if (message !== undefined) this.#onError(error, message);
      }
    } catch (error) {
      for (const message of batch) this.#onError(error, message);
    }
  }
}
