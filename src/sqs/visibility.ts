import { ChangeMessageVisibilityBatchCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { SQS_BATCH_LIMIT } from './deleter.ts';

/** A message that could not be made visible, and why. */
export interface VisibilityFailure {
  readonly message: Message;
  readonly error: unknown;
}

/**
 * Makes messages visible again at once (visibility 0), ten per call, and returns the ones that
 * could not be: they come back when their visibility timeout runs out instead. Never rejects.
 *
 * Sent last first: an emulator that puts a returned message at the head of its FIFO group then
 * keeps the group's order; SQS itself orders a group by sequence number either way.
 */
export async function makeVisibleNow(
  client: SQSClient,
  queueUrl: string,
  messages: readonly Message[],
): Promise<VisibilityFailure[]> {
  const failures: VisibilityFailure[] = [];
  const ordered = messages.toReversed();
  for (let i = 0; i < ordered.length; i += SQS_BATCH_LIMIT) {
    const batch = ordered.slice(i, i + SQS_BATCH_LIMIT);
    try {
      const { Failed = [] } = await client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: batch.map((message, j) => ({
            Id: String(j),
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: 0,
          })),
        }),
      );
      for (const failure of Failed) {
        const message = batch[Number(failure.Id)];
        const error = new Error(`ChangeMessageVisibilityBatch entry failed: ${failure.Code} ${failure.Message ?? ''}`);
        if (message !== undefined) failures.push({ message, error: Object.assign(error, { code: failure.Code }) });
      }
    } catch (error) {
      for (const message of batch) failures.push({ message, error });
    }
  }
  return failures;
}
