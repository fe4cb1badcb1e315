import { DeleteMessageBatchCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';

/** SQS takes at most ten entries per batch call. */
export const SQS_BATCH_LIMIT = 10;
// How long a processed message may wait for company before its batch is sent.
const FLUSH_DELAY_MS = 10;

/** How the delete of one message ended. */
export interface DeleteOutcome {
  readonly deleted: boolean;
  /** Why it was not deleted: the batch call's error, or the entry's failure. */
  readonly error?: unknown;
}

interface Queued {
  readonly message: Message;
  readonly settle: (outcome: DeleteOutcome) => void;
}

const DELETED: DeleteOutcome = { deleted: true };

/**
 * Deletes processed messages in batches of up to ten. Each `add` resolves with its own outcome:
 * every entry that fails, and every entry of a batch call that fails, is reported; nothing is
 * dropped silently. Never rejects.
 */
export class BatchDeleter {
  readonly #client: SQSClient;
  readonly #queueUrl: string;
  #queued: Queued[] = [];
  #timer: NodeJS.Timeout | undefined;
  readonly #sending = new Set<Promise<void>>();

  constructor(client: SQSClient, queueUrl: string) {
    this.#client = client;
    this.#queueUrl = queueUrl;
  }

  /**
   * Queues `message` for deletion. `now` sends the queue at once instead of waiting up to 10 ms
   * for company: a FIFO group's next message waits on this delete.
   */
  add(message: Message, now = false): Promise<DeleteOutcome> {
    return new Promise((settle) => {
      this.#queued.push({ message, settle });
      if (now || this.#queued.length >= SQS_BATCH_LIMIT) {
        this.#sendQueued();
      } else if (this.#timer === undefined) {
        this.#timer = setTimeout(() => this.#sendQueued(), FLUSH_DELAY_MS);
        this.#timer.unref();
      }
    });
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

  async #send(batch: Queued[]): Promise<void> {
    let failures = new Map<number, unknown>();
    try {
      const { Failed = [] } = await this.#client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.#queueUrl,
          Entries: batch.map(({ message }, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle })),
        }),
      );
      for (const failure of Failed) {
        const error = Object.assign(
          new Error(`DeleteMessageBatch entry failed: ${failure.Code} ${failure.Message ?? ''}`.trim()),
          { code: failure.Code, senderFault: failure.SenderFault },
        );
        failures.set(Number(failure.Id), error);
      }
    } catch (error) {
      failures = new Map(batch.map((_, i) => [i, error]));
    }
    batch.forEach(({ settle }, i) => {
      settle(failures.has(i) ? { deleted: false, error: failures.get(i) } : DELETED);
    });
  }
}
